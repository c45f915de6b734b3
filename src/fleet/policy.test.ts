import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/schema/index.js';
import { fleetPolicy, limiter } from './policy.js';

const manifest = (strategy: string, rolling = ''): Manifest =>
  parseManifest(
    `name: shop
source: { type: local, path: ./app }
deployment:
  strategy: ${strategy}
${rolling ? `  rolling: ${rolling}\n` : ''}service: { manager: process, command: node server.js, instances: 2, base_port: 4000 }
router: { type: embedded, listen: 8080 }
health_checks:
  - { url: "http://127.0.0.1:{port}/health" }
`,
    { env: {} },
  ).manifest;

describe('fleetPolicy', () => {
  it('recreate, blue-green, canary switch every host together', () => {
    for (const s of ['recreate', 'blue-green', 'canary']) expect(fleetPolicy(manifest(s), 'deploy', s, 5)).toEqual({ kind: 'together' });
  });

  it('a rollback is together, even with the rolling strategy', () => {
    expect(fleetPolicy(manifest('rolling', '{ batch_size: 2 }'), 'rollback', 'rolling', 5)).toEqual({ kind: 'together' });
    expect(fleetPolicy(manifest('rolling'), 'rollback', 'rollback', 5)).toEqual({ kind: 'together' });
  });

  it('rolling with the defaults: one host at a time, the first failure stops', () => {
    expect(fleetPolicy(manifest('rolling'), 'deploy', 'rolling', 5)).toEqual({ kind: 'waves', wave: 1, maxFailures: 1 });
  });

  it('the wave is min(batch_size, max_unavailable), counted in hosts', () => {
    const waves = (rolling: string, hosts: number) => fleetPolicy(manifest('rolling', rolling), 'deploy', 'rolling', hosts);
    expect(waves('{ batch_size: 3, max_unavailable: 2, max_failures: 2 }', 10)).toEqual({ kind: 'waves', wave: 2, maxFailures: 2 });
    expect(waves('{ batch_size: 2, max_unavailable: 4 }', 10)).toEqual({ kind: 'waves', wave: 2, maxFailures: 1 });
    // never more than the fleet
    expect(waves('{ batch_size: 8, max_unavailable: 8, max_failures: 9 }', 3)).toEqual({ kind: 'waves', wave: 3, maxFailures: 3 });
  });

  it('percentages are of the host count, rounded up', () => {
    const waves = (rolling: string, hosts: number) => fleetPolicy(manifest('rolling', rolling), 'deploy', 'rolling', hosts);
    expect(waves('{ batch_size: "50%", max_unavailable: "50%", max_failures: "25%" }', 10)).toEqual({ kind: 'waves', wave: 5, maxFailures: 3 });
    expect(waves('{ batch_size: "50%", max_unavailable: "30%", max_failures: "10%" }', 7)).toEqual({ kind: 'waves', wave: 3, maxFailures: 1 });
    expect(waves('{ batch_size: "100%", max_unavailable: "100%", max_failures: "100%" }', 4)).toEqual({ kind: 'waves', wave: 4, maxFailures: 4 });
    expect(waves('{ batch_size: "1%", max_unavailable: 5 }', 3)).toEqual({ kind: 'waves', wave: 1, maxFailures: 1 });
  });
});

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
function deferred<T = void>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
/** lets every pending promise callback run */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** n tasks on a limiter: which have started, how many run at once (max), each one's deferred. */
function harness(limit: number, tasks: number) {
  const run = limiter(limit);
  const ds = Array.from({ length: tasks }, () => deferred<number>());
  const started: number[] = [];
  let active = 0;
  let max = 0;
  const task = (i: number) => async () => {
    started.push(i);
    active++;
    max = Math.max(max, active);
    try {
      return await ds[i]!.promise;
    } finally {
      active--;
    }
  };
  return { run, ds, started, task, stats: () => ({ active, max }) };
}

describe('limiter', () => {
  it('runs at most n at once, in order, and every task to the end', async () => {
    const h = harness(2, 5);
    const results = Promise.all(h.ds.map((_, i) => h.run(h.task(i))));
    await flush();
    expect(h.started).toEqual([0, 1]);
    h.ds[1]!.resolve(1);
    await flush();
    expect(h.started).toEqual([0, 1, 2]);
    expect(h.stats()).toEqual({ active: 2, max: 2 });
    h.ds[0]!.resolve(0);
    h.ds[2]!.resolve(2);
    await flush();
    expect(h.started).toEqual([0, 1, 2, 3, 4]);
    h.ds[3]!.resolve(3);
    h.ds[4]!.resolve(4);
    expect(await results).toEqual([0, 1, 2, 3, 4]);
    expect(h.stats()).toEqual({ active: 0, max: 2 });
  });

  it('a failed task frees its place and its error reaches its caller only', async () => {
    const h = harness(1, 3);
    const settled = Promise.allSettled(h.ds.map((_, i) => h.run(h.task(i))));
    await flush();
    h.ds[0]!.reject(new Error('boom'));
    await flush();
    expect(h.started).toEqual([0, 1]);
    h.ds[1]!.resolve(1);
    await flush();
    h.ds[2]!.resolve(2);
    expect((await settled).map((s) => (s.status === 'fulfilled' ? s.value : (s.reason as Error).message))).toEqual(['boom', 1, 2]);
    expect(h.stats().max).toBe(1);
  });

  it('a task that throws synchronously frees its place too', async () => {
    const run = limiter(1);
    await expect(run(() => { throw new Error('sync'); })).rejects.toThrow('sync');
    expect(await run(async () => 7)).toBe(7);
  });

  it('many tasks, n = 3: never more than 3, all run', async () => {
    const h = harness(3, 20);
    const results = Promise.all(h.ds.map((_, i) => h.run(h.task(i))));
    // finish them in a scrambled order, one at a time
    for (const i of [2, 0, 1, 5, 3, 4, 8, 6, 7, 11, 9, 10, 14, 12, 13, 17, 15, 16, 19, 18]) {
      await flush();
      expect(h.stats().active).toBeLessThanOrEqual(3);
      h.ds[i]!.resolve(i);
    }
    expect(await results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(h.stats()).toEqual({ active: 0, max: 3 });
  });

  // a finishing task hands its place straight to the waiter: no newcomer slips in between
  it('a task that comes while a place is being handed to a waiter waits too (n = 1: never 2)', async () => {
    const h = harness(1, 3);
    const first = h.run(h.task(0));
    const second = h.run(h.task(1));
    await flush();
    expect(h.started).toEqual([0]);
    // someone else reacting to the same event two turns later, e.g. another host's step
    const third = h.ds[0]!.promise.then(() => undefined).then(() => h.run(h.task(2)));
    h.ds[0]!.resolve(0);
    await flush();
    expect(h.stats().max).toBe(1);
    h.ds[1]!.resolve(1);
    h.ds[2]!.resolve(2);
    expect([await first, await second, await third]).toEqual([0, 1, 2]);
  });
});
