// Blue-green on Deployer's embedded runtime, with real processes, a real router and load
// throughout: not one request may fail while traffic moves, goes back, or a bad release is refused.
import { afterEach, describe, expect, it } from 'vitest';
import { describeLoad, expectCleanDuring, startLoad, underLoad, type LoadReport } from './support/load.js';
import { waitFor } from './support/net.js';
import { belongsToHome, processesOfHome, processGroup, RuntimeApp, type AppView } from './support/runtime-app.js';

let app: RuntimeApp | undefined;
afterEach(async () => {
  const a = app;
  app = undefined;
  if (a) expect(await a.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
});

const pool = (v: AppView, name: string) => v.instances.filter((i) => i.pool === name);

/** A refused release changed nothing: only v1 answered and answers, blue keeps its processes and all traffic, green is empty. */
async function expectBlueUntouched(a: RuntimeApp, before: AppView, report: LoadReport): Promise<AppView> {
  expect(Object.keys(report.versions)).toEqual(['v1']);
  expect([...(await a.versions(20))]).toEqual(['v1']);
  const after = await a.view();
  expect(after.weights.blue).toBe(100);
  expect(after.weights.green ?? 0).toBe(0);
  expect(pool(after, 'green')).toEqual([]);
  expect(pool(after, 'blue').map((i) => i.pid)).toEqual(pool(before, 'blue').map((i) => i.pid));
  return after;
}

/** A workspace with `v1` deployed blue-green (2 instances in blue). */
async function deployedV1(opts: { scaleDownDelay?: string } = {}): Promise<RuntimeApp> {
  app = await RuntimeApp.create('v1', 2);
  app.writeManifest({ strategy: 'blue-green', instances: 2, ...opts });
  const first = await app.deploy();
  expect(first.code, first.stderr).toBe(0);
  expect(first.json).toMatchObject({ strategy: 'blue-green', result: 'succeeded' });
  await app.waitServing('v1');
  return app;
}

describe('blue-green on the embedded runtime', { timeout: 180_000 }, () => {
  it('moves all traffic to the new slot under load, keeps the old slot warm, and rolls back to it at once', async () => {
    const a = await deployedV1();
    const v1 = await a.view();
    expect(v1.weights).toMatchObject({ blue: 100 });
    expect(pool(v1, 'blue').map((i) => [i.port, i.state, i.traffic])).toEqual([
      [a.basePort, 'running', 'healthy'],
      [a.basePort + 1, 'running', 'healthy'],
    ]);
    const v1Release = pool(v1, 'blue')[0]!.release;

    a.setVersion('v2');
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'blue-green', result: 'succeeded', previous: v1Release });
    expectCleanDuring(dep);
    expect(dep.during, describeLoad(dep.report)).toBeGreaterThan(100);
    expect(Object.keys(dep.report.versions).sort()).toEqual(['v1', 'v2']);
    // once the deploy returned, only v2 answers
    expect([...(await a.versions(30))]).toEqual(['v2']);

    const v2 = await a.view();
    const v2Release = dep.result.json!.release as string;
    expect((await a.status()).current).toBe(v2Release);
    expect(v2.weights).toMatchObject({ green: 100, blue: 0 });
    expect(pool(v2, 'green').map((i) => [i.port, i.release, i.state, i.traffic])).toEqual([
      [a.basePort + 100, v2Release, 'running', 'healthy'],
      [a.basePort + 101, v2Release, 'running', 'healthy'],
    ]);
    // the old slot still runs until scale_down_delay (60s), its stop scheduled
    expect(pool(v2, 'blue').map((i) => [i.release, i.state])).toEqual([
      [v1Release, 'running'],
      [v1Release, 'running'],
    ]);
    expect(v2.stopAt.blue).toBeDefined();
    const bluePids = pool(v2, 'blue').map((i) => i.pid!);

    const back = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expect(back.result.json).toMatchObject({ operation: 'rollback', release: v1Release, result: 'succeeded' });
    expectCleanDuring(back);
    expect([...(await a.versions(30))]).toEqual(['v1']);
    // instant: the warm slot only took the traffic back, its processes are the same ones
    const after = await a.view();
    expect(after.weights).toMatchObject({ blue: 100, green: 0 });
    expect(pool(after, 'blue').map((i) => i.pid)).toEqual(bluePids);
    expect(back.opMs).toBeLessThan(15_000);
    expect((await a.status()).current).toBe(v1Release);
  });

  it('deploys again while the old slot is still warm: it is replaced, in-flight slow requests finish, and rollback goes one step back', async () => {
    const a = await deployedV1();
    a.setVersion('v2');
    const d2 = await a.deploy();
    expect(d2.code, d2.stderr).toBe(0);
    const v2Release = d2.json!.release as string;
    const warmV1 = pool(await a.view(), 'blue').map((i) => i.pid!);
    expect(warmV1).toHaveLength(2);

    a.setVersion('v3');
    const slow = startLoad({ port: a.routerPort, path: '/slow?ms=700', connections: 6, pauseMs: 0 });
    try {
      await slow.waitFor(6);
      const d3 = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
      expect(d3.result.code, d3.result.stderr).toBe(0);
      expectCleanDuring(d3);
      expect(Object.keys(d3.report.versions).sort()).toEqual(['v2', 'v3']);
    } finally {
      const r = await slow.stop();
      expect(r.non2xx + r.errors, describeLoad(r)).toBe(0);
      expect(r.total, describeLoad(r)).toBeGreaterThanOrEqual(12);
    }
    expect([...(await a.versions(20))]).toEqual(['v3']);
    const v = await a.view();
    expect(v.weights).toMatchObject({ blue: 100, green: 0 });
    // v1's warm processes were replaced by v3's in the same slot
    expect(pool(v, 'blue').some((i) => warmV1.includes(i.pid!))).toBe(false);
    for (const p of warmV1) expect(belongsToHome(p, a.home)).toBe(false);
    expect(pool(v, 'green').every((i) => i.release === v2Release && i.state === 'running')).toBe(true);

    const back = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expect(back.result.json).toMatchObject({ release: v2Release });
    expectCleanDuring(back);
    expect([...(await a.versions(20))]).toEqual(['v2']);
  });

  it('switches to a slow-starting release only once it is up, with no failed request', async () => {
    const a = await deployedV1();
    a.setVersion('v2', { slowStartMs: 2000 });
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expectCleanDuring(dep);
    expect(dep.opMs).toBeGreaterThan(2000);
    expect([...(await a.versions(30))]).toEqual(['v2']);
  });

  it('refuses a release whose health check fails: exit 1, v1 keeps serving, no request fails, the new slot is stopped', async () => {
    const a = await deployedV1();
    const before = await a.view();
    a.setVersion('v2', { unhealthy: true });
    a.writeManifest({ strategy: 'blue-green', instances: 2, healthTimeout: '3s' });
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.json).toMatchObject({ result: expect.stringMatching(/failed|rolled_back/) });
    expectCleanDuring(dep);
    const after = await expectBlueUntouched(a, before, dep.report);
    expect((await a.status()).current).toBe(pool(before, 'blue')[0]!.release);
    // the failed slot's processes are gone, not just forgotten: only the daemon, the router and blue's groups run
    const rt = await a.runtimeStatus();
    const blueGroups = pool(after, 'blue').map((i) => i.pid);
    const others = () => processesOfHome(a.home).filter((p) => p !== rt.pid && p !== rt.routerPid && !blueGroups.includes(processGroup(p)));
    await waitFor(() => (others().length === 0 ? true : undefined), 'the failed slot\'s processes to exit', 15_000).catch(() => undefined);
    expect(others()).toEqual([]);

    // and the next good release deploys into the slot the failed one left
    a.setVersion('v3');
    a.writeManifest({ strategy: 'blue-green', instances: 2 });
    const next = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(next.result.code, next.result.stderr).toBe(0);
    expectCleanDuring(next);
    expect([...(await a.versions(20))]).toEqual(['v3']);
  });

  it('refuses a release whose smoke tests fail: exit 1, v1 keeps serving, no request fails, the new slot is stopped', async () => {
    const a = await deployedV1();
    const before = await a.view();
    a.setVersion('v2', { smokeFail: true });
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.stderr).toMatch(/smoke/i);
    expectCleanDuring(dep);
    await expectBlueUntouched(a, before, dep.report);
  });

  it('stops the old slot once a short scale_down_delay is over', async () => {
    const a = await deployedV1({ scaleDownDelay: '1s' });
    const bluePids = pool(await a.view(), 'blue').map((i) => i.pid!);
    expect(bluePids).toHaveLength(2);
    a.setVersion('v2');
    const dep = await underLoad({ port: a.routerPort, minTotal: 300 }, async () => {
      const r = await a.deploy();
      // traffic goes on through the scale-down
      await waitFor(() => (bluePids.every((p) => !belongsToHome(p, a.home)) ? true : undefined), 'the old slot to stop', 30_000, 100);
      return r;
    });
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expectCleanDuring(dep);
    const v = await waitFor(async () => {
      const x = await a.view();
      return pool(x, 'blue').length === 0 ? x : undefined;
    }, 'status to show no blue instances', 15_000, 200);
    expect(pool(v, 'green')).toHaveLength(2);
    expect(v.stopAt.blue).toBeUndefined();
    expect([...(await a.versions(20))]).toEqual(['v2']);

    // the old slot is cold now: a rollback starts v1 again in the idle slot, and still no request fails
    const back = await underLoad({ port: a.routerPort, minTotal: 300 }, () => a.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expectCleanDuring(back);
    expect([...(await a.versions(20))]).toEqual(['v1']);
    const cold = await a.view();
    expect(cold.weights).toMatchObject({ blue: 100, green: 0 });
    expect(pool(cold, 'blue').map((i) => [i.state, i.traffic])).toEqual([
      ['running', 'healthy'],
      ['running', 'healthy'],
    ]);
    expect(pool(cold, 'blue').some((i) => bluePids.includes(i.pid!))).toBe(false);
  });
});
