// Controlling a canary on Deployer's embedded runtime from outside the deploy, with real
// processes and the real router: `promote` and `abort` from a second process (in a stage, a
// pause, or between them), header routing for testers, Ctrl-C and kill -9 of the deploy.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { get, waitFor } from './support/net.js';
import { canaryStatus, lastCanary, useCanaryApp } from './support/canary.js';
import { parseAnswer } from './support/runtime-app.js';

const liveV1 = useCanaryApp();

describe('canary control', { timeout: 180_000 }, () => {
  it('routes testers by header to a canary paused at 0%, and `deployer promote` from another process moves it on', async () => {
    const a = await liveV1('    stages: [{pause: manual}, {weight: 30, duration: 300ms}, {pause: 300ms}]\n    header_route: {header: X-Canary, value: "on"}', '');
    a.setVersion('v2');
    const deploy = a.deploy();
    const paused = await waitFor(async () => {
      const s = await canaryStatus(a);
      return s?.stage?.paused === 'manual' ? s : undefined;
    }, 'the canary to pause for promotion', 30_000, 100);
    expect(paused.stage).toMatchObject({ index: 1, weight: 0 });
    expect(paused.weights).toMatchObject({ green: 0, blue: 100 });
    // a deploy in progress, not an interrupted one
    expect(await a.status()).toMatchObject({ in_progress: expect.stringMatching(/^deploy dep_/), interrupted: null });
    for (let i = 0; i < 10; i++) {
      const tester = await get(a.routerPort, '/', 5000, { 'x-canary': 'on' });
      expect(parseAnswer(tester.body)?.version).toBe('v2');
      const other = await get(a.routerPort, '/', 5000, { 'x-canary': 'off' });
      expect(parseAnswer(other.body)?.version).toBe('v1');
    }
    const promote = await a.run(['promote']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.stdout).toMatch(/ended stage 1\/3/);
    const r = await deploy;
    expect(r.code, r.stderr).toBe(0);
    expect([...(await a.versions(20))]).toEqual(['v2']);
    const c = await lastCanary(a);
    expect([c.outcome, c.stages_done]).toEqual(['promoted', 3]);
    // who moved it on is in its history
    const detail = await a.run(['history', r.json!.deploy_id as string]);
    expect(detail.stdout).toMatch(/promote by \S+@\S+: ended stage 1\/3/);
    expect(r.stderr).toMatch(/canary 3\/3: pause at 30% for 0\.3s/);
    // the route is gone with the canary: a tester header reaches the live version like anyone
    expect((await a.view()).weights).toMatchObject({ green: 100 });
    expect(parseAnswer((await get(a.routerPort, '/', 5000, { 'x-canary': 'on' })).body)?.version).toBe('v2');
    const none = await a.run(['promote']);
    expect(none.code).toBe(2);
  });

  it('a canary deploy killed mid-stage is undone by `doctor --repair`: weight 0, canary stopped, nothing left in progress', async () => {
    const a = await liveV1('    stages: [{weight: 40, duration: 10m}]', '');
    const v1Release = (await a.status()).current as string;
    a.setVersion('v2');
    const deploy = a.deploy();
    const running = await waitFor(async () => {
      const s = await canaryStatus(a);
      return s?.weights.green === 40 ? s : undefined;
    }, 'the canary to take 40%', 30_000, 100);
    expect(new Set([...(await a.versions(40))])).toEqual(new Set(['v1', 'v2']));
    process.kill(running.pid, 'SIGKILL');
    const killed = await deploy;
    expect(killed.signal).toBe('SIGKILL');
    // the router keeps the split it had; status says the canary's deploy is gone
    const stale = await canaryStatus(a);
    expect(stale?.running).toBe(false);
    const repair = await a.run(['doctor', '--repair']);
    expect(repair.stderr + repair.stdout).toMatch(/undone/);
    expect([...(await a.versions(30))]).toEqual(['v1']);
    expect((await a.status()).current).toBe(v1Release);
    expect(await canaryStatus(a)).toBeNull();
    expect((await a.view()).instances.filter((i) => i.pool === 'green')).toEqual([]);
    // a canary status with no deploy and no journal behind it (say copied back by hand) is stale
    const statusFile = join(a.appRoot, '.deploy_state', 'canary.json');
    writeFileSync(statusFile, JSON.stringify({ ...running, deploy_id: 'dep_gone' }));
    const doc = await a.run(['doctor', '--json']);
    expect(JSON.stringify(doc.json)).toMatch(/stale canary status of deploy dep_gone/);
    await a.run(['doctor', '--repair']);
    expect(existsSync(statusFile)).toBe(false);
    // and the next canary goes through
    a.writeManifest({ strategy: 'canary', instances: 2, canary: '    stages: [{weight: 50, duration: 200ms}]' });
    const next = await a.deploy();
    expect(next.code, next.stderr).toBe(0);
    expect([...(await a.versions(20))]).toEqual(['v2']);
  });

  it('`deployer promote --full` skips the remaining stages and promotes at once', async () => {
    const a = await liveV1('    stages: [{weight: 10, duration: 10m}, {weight: 50, duration: 10m}]', '');
    a.setVersion('v2');
    const started = Date.now();
    const deploy = a.deploy();
    await waitFor(async () => ((await canaryStatus(a))?.weights.green === 10 ? true : undefined), 'the canary to take 10%', 30_000, 100);
    const promote = await a.run(['promote', '--full', '--json']);
    expect(promote.code, promote.stderr).toBe(0);
    expect(promote.json).toMatchObject({ action: 'promote', full: true, acknowledged: true });
    const r = await deploy;
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(60_000);
    expect([...(await a.versions(20))]).toEqual(['v2']);
    const c = await lastCanary(a);
    expect([c.outcome, c.stages_done]).toEqual(['promoted', 1]);
    expect(r.stderr).toMatch(/canary 2\/2: 50% .* skipped by `deployer promote --full`/);
  });

  it('answers promote and abort sent before the first stage: the abort wins and ends the deploy there', async () => {
    const a = await liveV1('    stages: [{weight: 30, duration: 10m}]', '');
    // the canary takes 5 s to listen: the deploy sits in "start instances", before any stage, and
    // answers what came meanwhile before its next step, in order
    a.setVersion('v2', { slowStartMs: 5000 });
    const deploy = a.deploy();
    await waitFor(async () => ((await canaryStatus(a))?.phase === 'starting' ? true : undefined), 'the canary deploy to start', 30_000, 50);
    const promoting = a.run(['promote']);
    await waitFor(() => (readdirSync(join(a.appRoot, '.deploy_state', 'canary_commands')).length > 0 ? true : undefined), 'the promote request to be queued', 10_000, 20);
    const [promote, abort] = await Promise.all([promoting, a.run(['abort', '--json'])]);
    expect(promote.code, promote.stdout + promote.stderr).toBe(1);
    // both were waiting when the start ended: the abort wins and the promote is refused, saying so
    expect(promote.stderr).toMatch(/promote refused by the canary .*: an abort came at the same time and wins/);
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.json).toMatchObject({ action: 'abort', acknowledged: true, done: true, note: expect.stringMatching(/^aborting before the first stage/) });
    const r = await deploy;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/`deployer abort` by /);
    expect([...(await a.versions(20))]).toEqual(['v1']);
    expect((await a.view()).instances.filter((i) => i.pool === 'green')).toEqual([]);
    // it never took traffic: aborted before any stage ran
    const c = await lastCanary(a);
    expect([c.outcome, c.stages_done]).toEqual(['aborted', 0]);
  });

  it('Ctrl-C (SIGINT) during a stage aborts the canary at once and undoes the deploy', async () => {
    const a = await liveV1('    stages: [{weight: 50, duration: 10m}]', '');
    a.setVersion('v2');
    const deploy = a.deploy();
    const running = await waitFor(async () => {
      const s = await canaryStatus(a);
      return s?.weights.green === 50 ? s : undefined;
    }, 'the canary to take 50%', 30_000, 100);
    const sent = Date.now();
    process.kill(running.pid, 'SIGINT');
    const r = await deploy;
    expect(r.code, r.stderr).toBe(1);
    expect(Date.now() - sent).toBeLessThan(20_000);
    expect(r.stderr).toMatch(/canary aborted: interrupted \(SIGINT\)/);
    expect(r.json).toMatchObject({ result: 'rolled_back' });
    expect([...(await a.versions(20))]).toEqual(['v1']);
    expect((await a.view()).weights).toMatchObject({ blue: 100, green: 0 });
    expect(await canaryStatus(a)).toBeNull();
  });

  it('an abort between the last stage and the switch takes the canary back, even with auto_rollback off', async () => {
    // one canary instance, scaled up to two after its only stage: the deploy sits in that start
    const a = await liveV1('    instances: 1\n    stages: [{weight: 30, duration: 300ms}]', '', { autoRollback: false });
    a.setVersion('v2', { slowStartMs: 2500 });
    const deploy = a.deploy();
    await waitFor(async () => ((await canaryStatus(a))?.phase === 'promoting' ? true : undefined), 'the canary to finish its stage', 30_000, 50);
    const abort = await a.run(['abort']);
    expect(abort.code, abort.stderr).toBe(0);
    expect(abort.stdout).toMatch(/aborting before promotion/);
    const r = await deploy;
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/failed before "/);
    expect(r.stderr).not.toMatch(/stays live/);
    expect(r.json).toMatchObject({ result: 'rolled_back', canary: { outcome: 'aborted', stages_done: 1 } });
    expect([...(await a.versions(20))]).toEqual(['v1']);
    const view = await a.view();
    expect(view.weights).toMatchObject({ blue: 100, green: 0 });
    expect(view.instances.filter((i) => i.pool === 'green')).toEqual([]);
  });
});
