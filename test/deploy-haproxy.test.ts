// Deploys through a real HAProxy (router.type haproxy, service.manager process), one HAProxy and
// one app for the whole file, each test starting from what the one before left live: blue-green,
// rollback, rolling, canary (promoted; aborted by the error_rate HAProxy's `show stat` counts),
// a canary across a soft reload of HAProxy, dry-run, and the errors of a wrong socket or backend.
// Every deploy runs under a bounded load through HAProxy's frontend: no request fails (but the
// failing canary's own injected 500s), and after each HAProxy serves one version, the one `current` names.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canaryStatus, lastCanary, analysis } from './support/canary.js';
import { HaproxyApp } from './support/haproxy-app.js';
import { skipWithoutHaproxy } from './support/haproxy-server.js';
import { describeLoad, expectClean, underLoad } from './support/load.js';
import { waitFor } from './support/net.js';
import type { ManifestOptions } from './support/runtime-app.js';

const skip = skipWithoutHaproxy('test/deploy-haproxy.test.ts');

const blueGreen: ManifestOptions = { strategy: 'blue-green', scaleDownDelay: '10m', warmupRequests: 5 };
const rolling: ManifestOptions = { strategy: 'rolling', rolling: { drain_timeout: '5s' } };
const canary = (stages: string, a: Parameters<typeof analysis>[0]): ManifestOptions => ({ strategy: 'canary', canary: `    stages: ${stages}`, extra: analysis(a) });
const healthyCanary = canary('[{weight: 20, duration: 1500ms}, {weight: 50, duration: 1s}]', {
  interval: '500ms',
  failureLimit: 2,
  minRequests: 5,
  metrics: ['{name: error_rate, provider: router, max: 1, max_ratio_to_baseline: 2}'],
});

describe.skipIf(skip)('deploys through a real HAProxy', { timeout: 120_000 }, () => {
  let h: HaproxyApp;
  const load = (minTotal = 200) => ({ port: h.hx.port, connections: 4, minTotal, maxDurationMs: 60_000 });

  beforeAll(async () => {
    h = await HaproxyApp.create('v1', blueGreen);
    // what the README tells a user: `deployer router init` writes the backend file, then HAProxy loads it
    const init = await h.app.run(['router', 'init']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stdout + init.stderr).toMatch(/wrote .*rtapp\.cfg/);
    const written = readFileSync(h.hx.configFile, 'utf8');
    expect(written).toMatch(/^backend rtapp$/m);
    await h.hx.start({ stub: false });
    expect(await h.servers()).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    const leftovers = h ? await h.app.stopRuntime() : null;
    await h?.hx.stop();
    if (h) rmSync(h.app.dir, { recursive: true, force: true });
    expect(leftovers?.leftovers ?? [], 'processes left after `deployer runtime stop`').toEqual([]);
  });

  it('a second `router init` leaves the backend file alone', async () => {
    const before = readFileSync(h.hx.configFile, 'utf8');
    const again = await h.app.run(['router', 'init']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout + again.stderr).toMatch(/exists: left as it is/);
    expect(readFileSync(h.hx.configFile, 'utf8')).toBe(before);
  });

  it('blue-green: the first deploy, then v2 under load with no failed request', async () => {
    const first = await h.app.deploy();
    expect(first.code, first.stderr).toBe(0);
    await h.expectOnly('v1');
    h.app.setVersion('v2');
    const dep = await underLoad(load(), () => h.app.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'blue-green', result: 'succeeded' });
    expectClean(dep.report);
    expect(dep.report.retried, describeLoad(dep.report)).toBe(0);
    await h.expectOnly('v2');
    // the old slot stays warm (scale_down_delay) at weight 0: in HAProxy, not in rotation
    const servers = await h.servers();
    expect(servers).toHaveLength(4);
    expect((await h.inRotation()).length).toBe(2);
  });

  it('rollback to the warm slot under load, no failed request', async () => {
    const back = await underLoad(load(), () => h.app.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expectClean(back.report);
    expect(back.report.retried).toBe(0);
    await h.expectOnly('v1');
  });

  it('rolling: v3 instance by instance under load, no failed request', async () => {
    h.writeManifest(rolling);
    h.app.setVersion('v3');
    const dep = await underLoad(load(), () => h.app.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'rolling', result: 'succeeded' });
    expectClean(dep.report);
    expect(dep.report.retried).toBe(0);
    await h.expectOnly('v3');
  });

  it('rolling: a batch of every instance empties the live pool for a moment, which keeps its share: v3b serves after', async () => {
    h.writeManifest({ strategy: 'rolling', rolling: { drain_timeout: '5s', batch_size: 2, max_unavailable: 2 } });
    h.app.setVersion('v3b');
    const dep = await h.app.deploy();
    expect(dep.code, dep.stderr).toBe(0);
    await h.expectOnly('v3b');
    expect((await h.inRotation()).length).toBe(2);
  });

  it('canary: a healthy v4 walks its stages under load and is promoted, no failed request', async () => {
    h.writeManifest(healthyCanary);
    h.app.setVersion('v4');
    const dep = await underLoad(load(300), () => h.app.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'canary', result: 'succeeded' });
    expectClean(dep.report, 300);
    expect(dep.report.retried).toBe(0);
    expect(Object.keys(dep.report.versions).sort()).toEqual(['v3b', 'v4']);
    const c = await lastCanary(h.app);
    expect(c.outcome).toBe('promoted');
    expect(c.intervals.filter((i) => i.verdict === 'pass').length).toBeGreaterThanOrEqual(2);
    await h.expectOnly('v4');
  });

  it("canary: v5 answering 500 on 30% of its requests is aborted on the error_rate HAProxy's show stat counts; v4 keeps serving", async () => {
    h.writeManifest(
      canary('[{weight: 30, duration: 60s}]', { interval: '500ms', failureLimit: 2, minRequests: 5, metrics: ['{name: error_rate, provider: router, max: 1, max_ratio_to_baseline: 2}'] }),
    );
    h.app.setVersion('v5', { failPercent: 30 });
    const dep = await underLoad(load(), () => h.app.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.json).toMatchObject({ strategy: 'canary', result: 'rolled_back', canary: { outcome: 'aborted' } });
    expect(dep.opMs, 'aborted long before the 60 s stage ended').toBeLessThan(20_000);
    // the only failures are v5's own injected 500s: no socket error, no HAProxy 50x of its own
    expect(dep.report.errors, describeLoad(dep.report)).toBe(0);
    expect(Object.keys(dep.report.statuses).sort(), describeLoad(dep.report)).toEqual(['200', '500']);
    expect(dep.report.failures.every((f) => /injected failure/.test(f.what)), describeLoad(dep.report)).toBe(true);
    const c = await lastCanary(h.app);
    const failing = c.intervals.filter((i) => i.verdict === 'fail');
    expect(failing.length).toBeGreaterThanOrEqual(2);
    const errorRate = failing[0]!.metrics.find((m) => m.name === 'error_rate')!;
    expect(errorRate.canary!, JSON.stringify(failing[0])).toBeGreaterThan(10);
    expect(errorRate.baseline).toBe(0);
    h.app.setVersion('v5');
    await h.expectOnly('v4');
    expect(await canaryStatus(h.app)).toBeNull();
  });

  it('a soft reload of HAProxy in the middle of a canary stage keeps the split; the canary is promoted', async () => {
    h.writeManifest(
      canary('[{weight: 30, duration: 4s}, {weight: 60, duration: 1s}]', { interval: '500ms', failureLimit: 2, minRequests: 5, metrics: ['{name: error_rate, provider: router, max: 1, max_ratio_to_baseline: 2}'] }),
    );
    h.app.setVersion('v6');
    // a reload closes the old process's idle keep-alive connections: the load retries those, as browsers do
    const dep = await underLoad({ ...load(300), retryStaleConnections: true }, async () => {
      const deploy = h.app.deploy();
      await waitFor(async () => {
        const s = await canaryStatus(h.app);
        return s?.stage?.weight === 30 ? s : undefined;
      }, 'the canary in its 30% stage', 30_000, 100);
      await h.hx.reload();
      // the new HAProxy process loaded Deployer's file: the split is still there
      const share = await h.poolShares();
      expect(Object.keys(share).length, JSON.stringify(share)).toBe(2);
      const canaryShare = Math.min(...Object.values(share));
      expect(canaryShare, JSON.stringify(share)).toBeGreaterThanOrEqual(25);
      expect(canaryShare, JSON.stringify(share)).toBeLessThanOrEqual(35);
      const split = await h.sample(40);
      expect(split.v6 ?? 0, JSON.stringify(split)).toBeGreaterThan(0);
      expect(split.v4 ?? 0, JSON.stringify(split)).toBeGreaterThan(0);
      const stage = await canaryStatus(h.app);
      expect(stage?.stage?.weight, 'still in the 30% stage after the reload').toBe(30);
      return deploy;
    });
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'canary', result: 'succeeded' });
    expectClean(dep.report, 300);
    expect((await lastCanary(h.app)).outcome).toBe('promoted');
    await h.expectOnly('v6');
  });

  it('deploy --dry-run exits 0 and changes nothing in HAProxy', async () => {
    const file = readFileSync(h.hx.configFile, 'utf8');
    const servers = await h.servers();
    h.app.setVersion('v7');
    const dry = await h.app.run(['deploy', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(await h.servers()).toEqual(servers);
    expect(readFileSync(h.hx.configFile, 'utf8')).toBe(file);
    await h.expectOnly('v6');
  });

  /** A deploy of v7 with these router.haproxy keys fails with one error naming `key`; v6 serves throughout, no lock is left. */
  async function refused(keys: { admin_socket?: string; backend?: string; config_file?: string }, key: string): Promise<string> {
    h.writeManifest(blueGreen, keys);
    h.app.setVersion('v7');
    const dep = await underLoad(load(100), () => h.app.deploy()).finally(() => h.writeManifest(blueGreen));
    expect([1, 2], dep.result.stderr).toContain(dep.result.code);
    expectClean(dep.report, 100);
    // one error line, naming the key (the hint may follow it)
    const errors = dep.result.stderr.split('\n').filter((l) => /^error:/.test(l));
    expect(errors, dep.result.stderr).toHaveLength(1);
    expect(errors[0]).toContain(key);
    expect(existsSync(join(h.app.appRoot, '.deploy_state', 'deploy.lock')), 'no lock left').toBe(false);
    await h.expectOnly('v6');
    return errors[0]!;
  }

  it('an admin socket with no HAProxy behind it: one clear error naming router.haproxy.admin_socket, v6 still serving', async () => {
    const out = await refused({ admin_socket: join(h.hx.dir, 'nosuch.sock') }, 'router.haproxy.admin_socket');
    expect(out).toMatch(/router\.haproxy\.admin_socket: cannot reach HAProxy's runtime API at .*nosuch\.sock/);
  });

  it('a backend HAProxy does not know: one clear error naming router.haproxy.backend, v6 still serving', async () => {
    const out = await refused({ backend: 'nosuch', config_file: join(h.hx.dir, 'deployer', 'nosuch.cfg') }, 'router.haproxy.backend');
    expect(out).toMatch(/router\.haproxy\.backend: .*nosuch/);
  });

  it('after all that, a blue-green deploy succeeds', async () => {
    h.app.setVersion('v8');
    const dep = await underLoad(load(), () => h.app.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expectClean(dep.report);
    await h.expectOnly('v8');
  });
});
