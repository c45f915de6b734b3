// Recreate with the process manager behind the embedded router: the old instances stop before
// the new ones start, and the router holds requests (router.unavailable_wait) meanwhile, so
// clients see a pause, not an error.
import { afterEach, describe, expect, it } from 'vitest';
import { describeLoad, underLoad } from './support/load.js';
import { RuntimeApp } from './support/runtime-app.js';

let app: RuntimeApp | undefined;
afterEach(async () => {
  const a = app;
  app = undefined;
  if (a) expect(await a.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
});

describe('recreate on the embedded runtime', { timeout: 180_000 }, () => {
  it('replaces every instance; requests wait for the new ones instead of failing', async () => {
    const a = (app = await RuntimeApp.create('v1', 2));
    a.writeManifest({ strategy: 'recreate', instances: 2 });
    const first = await a.deploy();
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ strategy: 'recreate', result: 'succeeded' });
    await a.waitServing('v1');
    const before = (await a.view()).instances;
    expect(before.map((i) => [i.port, i.state, i.traffic])).toEqual([
      [a.basePort, 'running', 'healthy'],
      [a.basePort + 1, 'running', 'healthy'],
    ]);

    a.setVersion('v2', { slowStartMs: 1000 });
    const dep = await underLoad({ port: a.routerPort, minTotal: 200 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    const r = dep.report;
    expect(r.non2xx + r.errors, describeLoad(r)).toBe(0);
    expect(r.total, describeLoad(r)).toBeGreaterThanOrEqual(200);
    expect(r.stoppedBy).toBe('stop');
    expect([...(await a.versions(20))]).toEqual(['v2']);
    const after = (await a.view()).instances;
    expect(after.map((i) => [i.port, i.release, i.state, i.traffic])).toEqual([
      [a.basePort, dep.result.json!.release, 'running', 'healthy'],
      [a.basePort + 1, dep.result.json!.release, 'running', 'healthy'],
    ]);
    expect(after.some((i) => before.some((b) => b.pid === i.pid))).toBe(false);
  });
});
