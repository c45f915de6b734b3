// A rolling deploy through a real nginx (router.type: nginx, service.manager: process): instance by
// instance drained in nginx, replaced and enabled again under load with no failed request, then
// kill -9 at its drain and enable steps (numbers read from the dry-run plan) repaired by
// `doctor --repair`, and a rollback under load. One nginx and one app for the file.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeLoad, underLoad } from './support/load.js';
import { expectNoFailure, expectServing, startNginxApp, type NginxApp } from './support/nginx-app.js';
import { crashThenRepair, type Case, type CrashOutcome } from './support/nginx-crash.js';
import { skipWithoutNginx } from './support/nginx-server.js';
import type { ManifestOptions } from './support/runtime-app.js';

const skip = skipWithoutNginx('test/deploy-nginx-rolling.test.ts');

const rolling: ManifestOptions = { strategy: 'rolling', rolling: { drain_timeout: '2s' } };

const cases: Case[] = [
  { name: 'drain_target of the first instance (after: it is out of rotation)', manifest: rolling, kind: 'drain_target', at: 'after' },
  { name: 'enable_target of the first instance (before: replaced, not yet in rotation)', manifest: rolling, kind: 'enable_target', at: 'before' },
  { name: 'drain_target of the second instance (before: one instance on each version)', manifest: rolling, kind: 'drain_target', nth: 1, at: 'before', split: true },
];

describe.skipIf(skip)('a rolling deploy through a real nginx', { timeout: 120_000 }, () => {
  let n: NginxApp;
  const version = { n: 1 };
  const retried: Record<string, number> = {};
  const outcomes: CrashOutcome[] = [];

  beforeAll(async () => {
    n = await startNginxApp(rolling);
    const first = await n.app.deploy();
    expect(first.code, first.stderr).toBe(0);
    await expectServing(n.app, 'v1');
  }, 60_000);

  afterAll(async () => {
    console.log(`[deploy-nginx-rolling] requests retried after a reload closed their keep-alive connection: ${JSON.stringify(retried)}; crashes: ${JSON.stringify(outcomes)}`);
    await n?.stop();
  });

  it('replaces the instances one by one under load with no failed request; nginx serves v2 only and current agrees', async () => {
    const a = n.app;
    const dry = await a.run(['deploy', '--dry-run', '--json']);
    const kinds = (dry.json!.steps as { kind: string }[]).map((s) => s.kind);
    expect(kinds.filter((k) => k === 'drain_target'), kinds.join(' ')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'enable_target'), kinds.join(' ')).toHaveLength(2);
    a.setVersion(`v${++version.n}`);
    const dep = await underLoad({ port: a.routerPort, connections: 4, retryStaleConnections: true, minTotal: 300 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(0);
    expect(dep.result.json).toMatchObject({ strategy: 'rolling', result: 'succeeded' });
    retried.rolling = dep.report.retried;
    expectNoFailure(dep.report, 300);
    expect(Object.keys(dep.report.versions).sort(), describeLoad(dep.report)).toEqual(['v1', 'v2']);
    expect(await expectServing(a, 'v2')).toBe(dep.result.json!.release);
  });

  it.each(cases)('kill -9 at $name: nginx serves whole versions, doctor --repair makes nginx and current agree, the next deploy succeeds', async (c) => {
    outcomes.push(await crashThenRepair(n, c, version));
  });

  it('rollback under load: the previous release back on every instance with no failed request', async () => {
    const a = n.app;
    const live = `v${version.n}`;
    const back = await underLoad({ port: a.routerPort, connections: 4, retryStaleConnections: true, minTotal: 300 }, () => a.rollback());
    expect(back.result.code, back.result.stderr).toBe(0);
    expect(back.result.json).toMatchObject({ operation: 'rollback', result: 'succeeded' });
    retried.rollback = back.report.retried;
    expectNoFailure(back.report, 300);
    const previous = Object.keys(back.report.versions).find((v) => v !== live);
    expect(previous, describeLoad(back.report)).toBeDefined();
    expect(await expectServing(a, previous!)).toBe(back.result.json!.release);
  });
});
