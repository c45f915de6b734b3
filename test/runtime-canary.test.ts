// Canary on Deployer's embedded runtime, with real processes, the real router and real traffic:
// a bad canary is aborted by its measurements within failure_limit intervals while the stable
// version keeps serving; a good one walks every stage without a failed request; a canary with no
// traffic is never promoted on no evidence; `promote` and `abort` from a second process move it on.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeLoad, expectClean, underLoad } from './support/load.js';
import { waitFor } from './support/net.js';
import { analysis, canaryStatus, expectFailedOnErrorRate, lastCanary, useCanaryApp } from './support/canary.js';

const liveV1 = useCanaryApp();

describe('canary on the embedded runtime', { timeout: 180_000 }, () => {
  it('aborts a canary answering 500 on 20% of requests within failure_limit intervals; stable keeps serving', async () => {
    const a = await liveV1(
      '    stages: [{weight: 10, duration: 60s}, {weight: 50, duration: 60s}]',
      analysis({ interval: '500ms', failureLimit: 2, minRequests: 10, metrics: ['{name: error_rate, max: 1, max_ratio_to_baseline: 2}', '{name: latency_p99_ms, max: 1000}'] }),
    );
    const v1Release = (await a.status()).current as string;
    a.setVersion('v2', { failPercent: 20 });
    const dep = await underLoad({ port: a.routerPort, connections: 6, minTotal: 200 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.json).toMatchObject({ strategy: 'canary', result: 'rolled_back', release: expect.any(String), canary: { outcome: 'aborted', stages_done: 0, reason: expect.stringMatching(/failure_limit 2/) } });
    expect(dep.result.stderr).toMatch(/canary aborted: 2 failing interval\(s\) in a row \(failure_limit 2\)/);
    // aborted long before the 60 s stage was over: within failure_limit intervals (and the start)
    expect(dep.opMs, describeLoad(dep.report)).toBeLessThan(15_000);
    // the only failures are the canary's injected 500s, a small share of all requests
    expect(dep.report.errors, describeLoad(dep.report)).toBe(0);
    expect(Object.keys(dep.report.statuses).sort()).toEqual(['200', '500']);
    expect(dep.report.non2xx / dep.report.total, describeLoad(dep.report)).toBeLessThan(0.05);

    const c = await lastCanary(a);
    expect(c.outcome).toBe('aborted');
    expect(c.reason).toMatch(/failure_limit 2/);
    expectFailedOnErrorRate(c);
    // the same, for humans: `deployer history <deploy id>`
    const detail = await a.run(['history', dep.result.json!.deploy_id as string]);
    expect(detail.code, detail.stderr).toBe(0);
    expect(detail.stdout).toMatch(/canary in green against blue \(\d{8}_\d{6}\): aborted after 0 stage\(s\): 2 failing interval\(s\) in a row/);
    expect(detail.stdout).toMatch(/analysis #\d+ stage 1 at 10% FAIL .*error_rate \d+(\.\d+)?% > max 1/);
    expect((await a.run(['history', 'dep_nope'])).code).toBe(2);

    // after the abort: only v1 answers, with no error at all, and the canary is gone
    const after = await underLoad({ port: a.routerPort, minTotal: 200 }, () => new Promise((r) => setTimeout(r, 500)));
    expectClean(after.report);
    expect(Object.keys(after.report.versions)).toEqual(['v1']);
    const view = await a.view();
    expect(view.weights).toMatchObject({ blue: 100 });
    expect(view.instances.filter((i) => i.pool === 'green')).toEqual([]);
    expect((await a.status()).current).toBe(v1Release);
    const failed = dep.result.json!.release as string;
    expect(existsSync(join(a.appRoot, 'releases', failed))).toBe(false);
    expect(await canaryStatus(a)).toBeNull();
  });

  it('fails a canary 300 ms slower on both the p99 threshold and the Mann-Whitney judge, keeps it as .failed, and takes it back even with auto_rollback off', async () => {
    const a = await liveV1(
      '    stages: [{weight: 20, duration: 60s}]',
      analysis({ interval: '1500ms', failureLimit: 1, minRequests: 8, metrics: ['{name: latency_p99_ms, max: 200}', '{name: latency_p50_ms, judge: mann-whitney, confidence: 0.95}'] }),
      { keepFailed: true, autoRollback: false },
    );
    a.setVersion('v2', { delayMs: 300 });
    const dep = await underLoad({ port: a.routerPort, connections: 8, minTotal: 100 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expectClean(dep.report, 100);
    const c = await lastCanary(a);
    expect(c.outcome).toBe('aborted');
    const failing = c.intervals.find((i) => i.verdict === 'fail')!;
    const p99 = failing.metrics.find((m) => m.name === 'latency_p99_ms')!;
    const mw = failing.metrics.find((m) => m.judge === 'mann-whitney')!;
    expect([p99.verdict, mw.verdict], JSON.stringify(failing)).toEqual(['fail', 'fail']);
    expect(p99.canary!).toBeGreaterThan(290);
    expect(mw.canary! - mw.baseline!).toBeGreaterThan(250);
    const failed = dep.result.json!.release as string;
    expect(existsSync(join(a.appRoot, 'releases', `${failed}.failed`))).toBe(true);
    expect([...(await a.versions(20))]).toEqual(['v1']);
    // auto_rollback: false keeps a release that became live, never a canary on trial: it is gone
    const view = await a.view();
    expect(view.weights).toMatchObject({ blue: 100, green: 0 });
    expect(view.instances.filter((i) => i.pool === 'green')).toEqual([]);
    expect(dep.result.json).toMatchObject({ result: 'rolled_back' });
  });

  it('walks every stage of a healthy canary under load and promotes it, without one failed request', async () => {
    const a = await liveV1(
      '    stages: [{weight: 20, duration: 1s}, {weight: 50, duration: 1s}, {weight: 100, duration: 500ms}]',
      analysis({ interval: '500ms', failureLimit: 2, minRequests: 10, metrics: ['{name: error_rate, max: 1, max_ratio_to_baseline: 2}', '{name: latency_p99_ms, max: 1000}', '{name: latency_p50_ms, judge: mann-whitney}'] }),
    );
    a.setVersion('v2');
    const dep = await underLoad({ port: a.routerPort, connections: 6, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'canary', result: 'succeeded' });
    expectClean(dep.report, 300);
    expect(Object.keys(dep.report.versions).sort()).toEqual(['v1', 'v2']);
    expect(dep.result.stderr).toMatch(/analysis #1 stage 1\/3 at 20%/);
    expect([...(await a.versions(30))]).toEqual(['v2']);
    const c = await lastCanary(a);
    expect(c.outcome).toBe('promoted');
    expect(c.stages_done).toBe(3);
    // at 100% the baseline takes no traffic: comparisons with it are left out, not inconclusive
    const full = c.intervals.filter((i) => (i as { weight?: number }).weight === 100);
    expect(full.length).toBeGreaterThan(0);
    expect(full.at(-1)!.verdict).toBe('pass');
    expect(full.at(-1)!.metrics.find((m) => m.judge === 'mann-whitney')!.reason).toMatch(/not compared: the baseline takes no traffic/);
    expect(c.intervals.filter((i) => i.verdict === 'fail')).toEqual([]);
    expect(c.intervals.filter((i) => i.verdict === 'pass').length).toBeGreaterThanOrEqual(2);
    // the old version stays warm for an instant rollback
    const view = await a.view();
    expect(view.weights).toMatchObject({ green: 100, blue: 0 });
    const back = await underLoad({ port: a.routerPort, minTotal: 50 }, () => a.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expectClean(back.report, 50);
    expect([...(await a.versions(20))]).toEqual(['v1']);
  });

  it('with almost no traffic the analysis is inconclusive: the canary waits instead of being promoted, and `deployer abort` ends it', async () => {
    const a = await liveV1('    stages: [{weight: 10, duration: 500ms}]', analysis({ interval: '300ms', failureLimit: 2, minRequests: 50, metrics: ['{name: error_rate, max: 1}'] }));
    const v1Release = (await a.status()).current as string;
    a.setVersion('v2');
    const deploy = a.deploy();
    const paused = await waitFor(async () => {
      const s = await canaryStatus(a);
      return s?.stage?.paused === 'inconclusive' ? s : undefined;
    }, 'the canary to pause on inconclusive analysis', 30_000, 100);
    expect(paused.running).toBe(true);
    expect(paused.last.length).toBeGreaterThan(0);
    expect(paused.last.every((i) => i.verdict === 'inconclusive')).toBe(true);
    expect(paused.last[0]!.metrics[0]!.reason).toMatch(/min_requests 50/);
    // it stays paused: more intervals, still not promoted
    await waitFor(async () => ((await canaryStatus(a))!.last.at(-1)!.index >= paused.last.at(-1)!.index + 2 ? true : undefined), 'two more intervals', 20_000, 100);
    expect((await a.status()).current).toBe(v1Release);

    const abort = await a.run(['abort']);
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stdout).toMatch(/aborted the canary .* weight 0/);
    const r = await deploy;
    expect(r.code, r.stderr).toBe(1);
    expect(r.json).toMatchObject({ result: 'rolled_back' });
    expect((await lastCanary(a)).reason).toMatch(/`deployer abort` by /);
    expect([...(await a.versions(20))]).toEqual(['v1']);
    // nothing in progress any more
    const again = await a.run(['abort']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/no canary deploy of rtapp is in progress/);
  });

  it('on_inconclusive decides a stage without a passing interval: abort ends the deploy, proceed moves on', async () => {
    const quiet = (policy: string) => analysis({ interval: '200ms', failureLimit: 2, minRequests: 1000, onInconclusive: policy, metrics: ['{name: error_rate, max: 1}'] });
    const a = await liveV1('    stages: [{weight: 10, duration: 300ms}]', quiet('abort'));
    a.setVersion('v2');
    const aborted = await a.deploy();
    expect(aborted.code, aborted.stderr).toBe(1);
    expect(aborted.stderr).toMatch(/canary aborted: stage 1\/1 ended without a passing interval: .*min_requests 1000/);
    expect([...(await a.versions(10))]).toEqual(['v1']);
    a.writeManifest({ strategy: 'canary', instances: 2, canary: '    stages: [{weight: 10, duration: 300ms}]', extra: quiet('proceed') });
    const proceeded = await a.deploy();
    expect(proceeded.code, proceeded.stderr).toBe(0);
    expect([...(await a.versions(10))]).toEqual(['v2']);
    expect((await lastCanary(a)).intervals.every((i) => i.verdict === 'inconclusive')).toBe(true);
  });
});
