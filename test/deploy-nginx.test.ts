// Deploys through a real nginx (router.type: nginx, service.manager: process), one nginx and one
// app for the file, each test going on from the state the previous one left: blue-green, rollback,
// a dry-run that touches nothing, a configuration nginx refuses, a healthy canary promoted and a
// failing one aborted on the error rate nginx's access log shows. Load runs through nginx
// throughout and no request may fail; a client retries a request its reused keep-alive
// connection lost to a reload before any answer (what browsers do), counted in `retried`.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analysis, expectFailedOnErrorRate, lastCanary } from './support/canary.js';
import { describeLoad, underLoad, type LoadReport } from './support/load.js';
import { expectNoFailure, expectNoLock, expectServing, startNginxApp, type NginxApp } from './support/nginx-app.js';
import { skipWithoutNginx } from './support/nginx-server.js';
import type { ManifestOptions } from './support/runtime-app.js';

const skip = skipWithoutNginx('test/deploy-nginx.test.ts');

const retried: Record<string, number> = {};
const load = (name: string, r: LoadReport) => {
  retried[name] = r.retried;
  return r;
};

const canary = (stages: string, metricsInterval = '500ms'): ManifestOptions => ({
  strategy: 'canary',
  canary: `    stages: ${stages}`,
  extra: analysis({ interval: metricsInterval, failureLimit: 2, minRequests: 10, metrics: ['{name: error_rate, max: 1, max_ratio_to_baseline: 2}', '{name: latency_p99_ms, max: 1000}'] }),
});

describe.skipIf(skip)('deploys through a real nginx', { timeout: 120_000 }, () => {
  let n: NginxApp;
  const opts = { port: 0, connections: 4, retryStaleConnections: true };

  beforeAll(async () => {
    n = await startNginxApp({ strategy: 'blue-green', instances: 2 });
  }, 60_000);

  afterAll(async () => {
    console.log(`[deploy-nginx] requests retried after a reload closed their keep-alive connection: ${JSON.stringify(retried)}`);
    await n?.stop();
  });

  it('`deployer router init` wrote the file nginx loads before the first deploy; a second run leaves it alone', async () => {
    expect(n.init).toEqual({ router: 'nginx', file: n.nginx.configFile, written: true });
    const text = readFileSync(n.nginx.configFile, 'utf8');
    expect(text).toContain(`log_format deployer_${n.app.name} `);
    expect(text).toContain(`upstream ${n.app.name} {`);
    const again = await n.app.run(['router', 'init']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`${n.nginx.configFile} exists: left as it is`);
    expect(readFileSync(n.nginx.configFile, 'utf8')).toBe(text);
  });

  it('blue-green: the first deploy, then v2 under load with no failed request; nginx serves v2 only and current agrees', async () => {
    const a = n.app;
    const first = await a.deploy();
    expect(first.code, first.stderr).toBe(0);
    const v1 = await expectServing(a, 'v1');
    expect(first.json).toMatchObject({ result: 'succeeded', release: v1 });

    a.setVersion('v2');
    const dep = await underLoad({ ...opts, port: a.routerPort, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'blue-green', result: 'succeeded', previous: v1 });
    expectNoFailure(load('blue-green', dep.report), 300);
    expect(Object.keys(dep.report.versions).sort(), describeLoad(dep.report)).toEqual(['v1', 'v2']);
    expect(await expectServing(a, 'v2')).toBe(dep.result.json!.release);
    // a second `router init` leaves a file with servers in it alone
    const file = readFileSync(n.nginx.configFile);
    expect((await a.run(['router', 'init'])).code).toBe(0);
    expect(readFileSync(n.nginx.configFile).equals(file)).toBe(true);
  });

  it('--dry-run lists the router steps and exits 0 without touching nginx or its file', async () => {
    const a = n.app;
    const file = readFileSync(n.nginx.configFile);
    a.setVersion('v3');
    const bg = await a.run(['deploy', '--dry-run', '--json']);
    expect(bg.code, bg.stderr).toBe(0);
    const kinds = (bg.json!.steps as { kind: string }[]).map((s) => s.kind);
    expect(kinds).toEqual(expect.arrayContaining(['start_instances', 'switch_traffic']));
    a.writeManifest(canary('[{weight: 20, duration: 1s}, {weight: 50, duration: 1s}]'));
    const cn = await a.run(['deploy', '--dry-run', '--json']);
    expect(cn.code, cn.stderr).toBe(0);
    const weights = (cn.json!.steps as { kind: string }[]).filter((s) => s.kind === 'set_weights');
    expect(weights.length, JSON.stringify(cn.json!.steps)).toBeGreaterThanOrEqual(2);
    expect(readFileSync(n.nginx.configFile).equals(file)).toBe(true);
    expect([...(await a.versions(20))]).toEqual(['v2']);
    a.writeManifest({ strategy: 'blue-green' });
    a.setVersion('v2');
  });

  it('rollback under load: back to v1 with no failed request; nginx serves v1 only and current agrees', async () => {
    const a = n.app;
    const back = await underLoad({ ...opts, port: a.routerPort, minTotal: 300 }, () => a.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expect(back.result.json).toMatchObject({ operation: 'rollback', result: 'succeeded' });
    expectNoFailure(load('rollback', back.report), 300);
    expect(await expectServing(a, 'v1')).toBe(back.result.json!.release);
  });

  it('a configuration nginx refuses: exit 1 naming router.nginx.test_command with nginx\'s message, v1 serves throughout, the file is unchanged', async () => {
    const a = n.app;
    const live = (await a.status()).current as string;
    const file = readFileSync(n.nginx.configFile);
    n.write({ strategy: 'blue-green', testCommand: n.nginx.brokenTestCommand });
    a.setVersion('v3');
    const dep = await underLoad({ ...opts, port: a.routerPort, minTotal: 200 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.stderr).toMatch(/router\.nginx\.test_command: nginx refused the new configuration .*: exit 1: nginx: \[emerg\] duplicate .*broken\.conf test failed/s);
    expectNoFailure(load('refused', dep.report), 200);
    expect(Object.keys(dep.report.versions)).toEqual(['v1']);
    expect(readFileSync(n.nginx.configFile).equals(file)).toBe(true);
    expectNoLock(a);
    expect(await expectServing(a, 'v1')).toBe(live);
    const st = await a.run(['status']);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain(live);
    a.writeManifest({ strategy: 'blue-green' });
  });

  it('canary: a healthy one walks its stages under load and is promoted with no failed request', async () => {
    const a = n.app;
    a.writeManifest(canary('[{weight: 20, duration: 1s}, {weight: 50, duration: 1s}, {weight: 100, duration: 500ms}]'));
    a.setVersion('v4');
    const dep = await underLoad({ ...opts, port: a.routerPort, connections: 6, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'canary', result: 'succeeded' });
    expectNoFailure(load('canary promoted', dep.report), 300);
    expect(Object.keys(dep.report.versions).sort(), describeLoad(dep.report)).toEqual(['v1', 'v4']);
    const c = await lastCanary(a);
    expect(c.outcome).toBe('promoted');
    expect(c.intervals.filter((i) => i.verdict === 'pass').length).toBeGreaterThanOrEqual(2);
    expect(c.intervals.filter((i) => i.verdict === 'fail')).toEqual([]);
    expect(await expectServing(a, 'v4')).toBe(dep.result.json!.release);
  });

  it('canary: one answering 500 on 20% of requests is aborted on the error rate from nginx\'s access log; v4 keeps serving', async () => {
    const a = n.app;
    const live = (await a.status()).current as string;
    a.writeManifest(canary('[{weight: 20, duration: 60s}]'));
    a.setVersion('v5', { failPercent: 20 });
    const dep = await underLoad({ ...opts, port: a.routerPort, connections: 6, minTotal: 200 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.json).toMatchObject({ strategy: 'canary', result: 'rolled_back', canary: { outcome: 'aborted', stages_done: 0 } });
    expect(dep.result.stderr).toMatch(/canary aborted: 2 failing interval\(s\) in a row \(failure_limit 2\)/);
    expect(dep.opMs, describeLoad(dep.report)).toBeLessThan(30_000);
    // the only failures are the canary's own injected 500s, a small share
    load('canary aborted', dep.report);
    expect(dep.report.errors + dep.report.timeouts, describeLoad(dep.report)).toBe(0);
    expect(Object.keys(dep.report.statuses).sort(), describeLoad(dep.report)).toEqual(['200', '500']);
    expect(dep.report.non2xx / dep.report.total, describeLoad(dep.report)).toBeLessThan(0.1);
    const c = await lastCanary(a);
    expectFailedOnErrorRate(c);
    // after the abort: only v4, with no failure at all
    const after = await underLoad({ ...opts, port: a.routerPort, minTotal: 200 }, () => new Promise((r) => setTimeout(r, 300)));
    expectNoFailure(load('after abort', after.report), 200);
    expect(Object.keys(after.report.versions)).toEqual(['v4']);
    expect(await expectServing(a, 'v4')).toBe(live);
    expectNoLock(a);
  });
});
