// Rolling deploys on Deployer's embedded runtime: instances drained, stopped and started on the
// new release one at a time, with load throughout; not one request may fail.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeLoad, expectCleanDuring, startLoad, underLoad, type LoadReport } from './support/load.js';
import { RuntimeApp, type AppView, type InstanceView } from './support/runtime-app.js';

let app: RuntimeApp | undefined;
afterEach(async () => {
  const a = app;
  app = undefined;
  if (a) expect(await a.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
});

const stable = (v: AppView) => v.instances.filter((i) => i.pool === 'stable').sort((a, b) => a.port - b.port);

/** `v1` deployed with the rolling strategy on 3 instances (pool stable). */
/** After a refused rolling deploy: only v1 answered, and every instance runs it again, healthy. */
async function allBackOnV1(a: RuntimeApp, v1Release: string, report: LoadReport): Promise<InstanceView[]> {
  expect(Object.keys(report.versions)).toEqual(['v1']);
  const after = stable(await a.view());
  expect(after.map((i) => [i.id, i.release, i.state, i.traffic])).toEqual([
    ['stable-0', v1Release, 'running', 'healthy'],
    ['stable-1', v1Release, 'running', 'healthy'],
    ['stable-2', v1Release, 'running', 'healthy'],
  ]);
  return after;
}

async function deployedV1(): Promise<{ a: RuntimeApp; v1Release: string }> {
  const a = (app = await RuntimeApp.create('v1', 3));
  a.writeManifest({ strategy: 'rolling', instances: 3 });
  const first = await a.deploy();
  expect(first.code, first.stderr).toBe(0);
  expect(first.json).toMatchObject({ strategy: 'rolling', result: 'succeeded' });
  await a.waitServing('v1');
  const v = await a.view();
  expect(v.weights).toMatchObject({ stable: 100 });
  expect(stable(v).map((i) => [i.id, i.port, i.state, i.traffic])).toEqual([
    ['stable-0', a.basePort, 'running', 'healthy'],
    ['stable-1', a.basePort + 1, 'running', 'healthy'],
    ['stable-2', a.basePort + 2, 'running', 'healthy'],
  ]);
  return { a, v1Release: first.json!.release as string };
}

describe('rolling deploys on the embedded runtime', { timeout: 180_000 }, () => {
  it('moves every instance to the new release under load, and rolls them all back under load', async () => {
    const { a, v1Release } = await deployedV1();

    a.setVersion('v2');
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'rolling', result: 'succeeded', previous: v1Release });
    expectCleanDuring(dep);
    expect(dep.during, describeLoad(dep.report)).toBeGreaterThan(100);
    expect(Object.keys(dep.report.versions).sort()).toEqual(['v1', 'v2']);
    const v2Release = dep.result.json!.release as string;
    const v2 = await a.view();
    expect(stable(v2).map((i) => [i.id, i.release, i.state, i.traffic])).toEqual([
      ['stable-0', v2Release, 'running', 'healthy'],
      ['stable-1', v2Release, 'running', 'healthy'],
      ['stable-2', v2Release, 'running', 'healthy'],
    ]);
    expect(v2.instances).toHaveLength(3);
    expect((await a.status()).current).toBe(v2Release);
    expect([...(await a.versions(30))]).toEqual(['v2']);

    const back = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expect(back.result.json).toMatchObject({ operation: 'rollback', release: v1Release, result: 'succeeded' });
    expectCleanDuring(back);
    const v1 = await a.view();
    expect(stable(v1).map((i) => [i.id, i.release, i.state, i.traffic])).toEqual([
      ['stable-0', v1Release, 'running', 'healthy'],
      ['stable-1', v1Release, 'running', 'healthy'],
      ['stable-2', v1Release, 'running', 'healthy'],
    ]);
    expect((await a.status()).current).toBe(v1Release);
    expect([...(await a.versions(30))]).toEqual(['v1']);
  });

  it('drains each instance before stopping it: slow requests in flight finish on the old release', async () => {
    const { a } = await deployedV1();
    a.setVersion('v2');
    const slow = startLoad({ port: a.routerPort, path: '/slow?ms=700', connections: 6, pauseMs: 0 });
    try {
      await slow.waitFor(6);
      const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
      expect(dep.result.code, dep.result.stderr).toBe(0);
      expectCleanDuring(dep);
    } finally {
      const r = await slow.stop();
      expect(r.non2xx + r.errors, describeLoad(r)).toBe(0);
      expect(r.total, describeLoad(r)).toBeGreaterThanOrEqual(20);
      expect(Object.keys(r.versions).sort(), describeLoad(r)).toEqual(['v1', 'v2']);
    }
    expect([...(await a.versions(20))]).toEqual(['v2']);
  });

  it('rolls a slow-starting release two at a time (max_unavailable 2) with no failed request', async () => {
    const { a } = await deployedV1();
    a.setVersion('v2', { slowStartMs: 1500 });
    a.writeManifest({ strategy: 'rolling', instances: 3, rolling: { batch_size: 2, max_unavailable: 2 } });
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expectCleanDuring(dep);
    const v2Release = dep.result.json!.release as string;
    expect(stable(await a.view()).map((i) => [i.release, i.traffic])).toEqual([
      [v2Release, 'healthy'],
      [v2Release, 'healthy'],
      [v2Release, 'healthy'],
    ]);
    expect([...(await a.versions(30))]).toEqual(['v2']);
  });

  it('puts a failed instance back on the old release and stops: exit 1, all 3 on v1, no request fails', async () => {
    const { a, v1Release } = await deployedV1();
    const before = stable(await a.view());
    a.setVersion('v2', { unhealthy: true });
    a.writeManifest({ strategy: 'rolling', instances: 3, healthTimeout: '3s' });
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.json).toMatchObject({ result: expect.stringMatching(/failed|rolled_back/) });
    expect(dep.result.stderr).toMatch(/stable-0/);
    expectCleanDuring(dep);
    const after = await allBackOnV1(a, v1Release, dep.report);
    // the first instance was tried and put back; the others were never touched
    expect(after[0]!.pid).not.toBe(before[0]!.pid);
    expect(after.slice(1).map((i) => i.pid)).toEqual(before.slice(1).map((i) => i.pid));
    expect((await a.status()).current).toBe(v1Release);
    expect([...(await a.versions(30))]).toEqual(['v1']);
  });
  it('rolls the already-updated instances back when a later one fails (max_failures 1): exit 1, all 3 on v1, no request fails', async () => {
    const { a, v1Release } = await deployedV1();
    a.setVersion('v2', { exitAtOnce: ['stable-2'] });
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.stderr).toContain('EXIT_AT_ONCE marker: version v2 refuses to start');
    expectCleanDuring(dep);
    // stable-0 and stable-1 served v2 for a while; then everything went back
    expect(Object.keys(dep.report.versions).sort()).toEqual(['v1', 'v2']);
    expect(stable(await a.view()).map((i) => [i.id, i.release, i.state, i.traffic])).toEqual([
      ['stable-0', v1Release, 'running', 'healthy'],
      ['stable-1', v1Release, 'running', 'healthy'],
      ['stable-2', v1Release, 'running', 'healthy'],
    ]);
    expect((await a.status()).current).toBe(v1Release);
    expect([...(await a.versions(30))]).toEqual(['v1']);
  });

  it('tries the next instance after a failure until max_failures (2), then stops: all 3 on v1, no request fails', async () => {
    const { a, v1Release } = await deployedV1();
    const before = stable(await a.view());
    a.setVersion('v2', { exitAtOnce: true });
    a.writeManifest({ strategy: 'rolling', instances: 3, rolling: { max_failures: 2 } });
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expectCleanDuring(dep);
    const after = await allBackOnV1(a, v1Release, dep.report);
    // two were tried (and put back), the third never touched
    expect(after[0]!.pid).not.toBe(before[0]!.pid);
    expect(after[1]!.pid).not.toBe(before[1]!.pid);
    expect(after[2]!.pid).toBe(before[2]!.pid);
  });
  it('keeps a restarted instance out of traffic until every health check passes, not just the router\'s', async () => {
    const { a } = await deployedV1();
    // v2 answers /health (the router's check) but fails the manifest's second check
    const text = a.manifestText({ strategy: 'rolling', instances: 3, healthTimeout: '2s' }).replace(
      /^health_checks: .*$/m,
      `health_checks:\n  - { url: "http://127.0.0.1:{port}/health", timeout: 2s, interval: 100ms }\n  - { url: "http://127.0.0.1:{port}/", body_contains: '"version":"v1"', timeout: 2s, interval: 100ms }`,
    );
    writeFileSync(join(a.dir, 'deploy.yml'), text);
    a.setVersion('v2');
    const dep = await underLoad({ port: a.routerPort, minTotal: 200 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expectCleanDuring(dep);
    // not one user request reached v2
    expect(Object.keys(dep.report.versions), describeLoad(dep.report)).toEqual(['v1']);
    expect(stable(await a.view()).map((i) => i.state)).toEqual(['running', 'running', 'running']);
  });
});
