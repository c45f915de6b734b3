// kill -9 of a deploy through a real HAProxy at its router steps (the pool declared: add server;
// the switch: weights; the old pool stopped: del server; a canary's set_weights; a rolling
// drain_target and enable_target). After each: every request through HAProxy still gets a whole
// version, `doctor --repair` puts HAProxy and `current` back in agreement, and the next deploy
// succeeds. One HAProxy and one app for the file; the step numbers come from `deploy --dry-run --json`.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analysis } from './support/canary.js';
import { cli } from './support/cli.js';
import { HaproxyApp } from './support/haproxy-app.js';
import { skipWithoutHaproxy } from './support/haproxy-server.js';
import type { ManifestOptions } from './support/runtime-app.js';
import type { ServerState } from '../src/routers/haproxy-stat.js';

const skip = skipWithoutHaproxy('test/deploy-haproxy-crash.test.ts');

const blueGreen: ManifestOptions = { strategy: 'blue-green', scaleDownDelay: '10m', warmupRequests: 5 };
const rolling: ManifestOptions = { strategy: 'rolling', rolling: { drain_timeout: '5s' } };
const canary: ManifestOptions = {
  strategy: 'canary',
  canary: '    stages: [{weight: 30, duration: 500ms}]',
  extra: analysis({ interval: '200ms', failureLimit: 2, minRequests: 1, onInconclusive: 'proceed', metrics: ['{name: error_rate, provider: router, max: 1}'] }),
};

interface Point {
  name: string;
  manifest: ManifestOptions;
  /** the step kind, which of them (0: the first), and the side of it the deploy dies on */
  kind: string;
  nth?: number;
  when: 'before' | 'after';
  /** HAProxy may serve both versions between the crash and the repair (a canary split) */
  split?: boolean;
  /** what the router step did before the kill, as HAProxy shows it (servers before the deploy, after the kill) */
  acted: (before: ServerState[], after: ServerState[], served: Record<string, number>, crashed: string) => void;
}

const inRotation = (s: ServerState[]) => s.filter((x) => x.admin === 0 && x.uweight > 0).length;

// in this order: by the third, the idle slot holds a warm release that the deploy stops first
const points: Point[] = [
  {
    name: 'blue-green, new pool declared (add server)',
    manifest: blueGreen,
    kind: 'start_instances',
    when: 'after',
    acted: (b, a) => expect(a.length).toBeGreaterThan(b.length),
  },
  {
    name: 'blue-green, traffic switched (weights)',
    manifest: blueGreen,
    kind: 'switch_traffic',
    when: 'after',
    acted: (_b, _a, served, crashed) => expect(Object.keys(served)).toEqual([crashed]),
  },
  {
    name: 'blue-green, the warm idle slot stopped (del server)',
    manifest: blueGreen,
    kind: 'stop_instances',
    when: 'after',
    acted: (b, a) => expect(a.length).toBeLessThan(b.length),
  },
  {
    name: 'canary, first set_weights',
    manifest: canary,
    kind: 'set_weights',
    when: 'after',
    split: true,
    acted: (_b, a) => expect(new Set(a.filter((x) => x.admin === 0 && x.uweight > 0).map((x) => x.name.replace(/-\d+$/, ''))).size).toBe(2),
  },
  {
    name: 'rolling, first instance drained',
    manifest: rolling,
    kind: 'drain_target',
    when: 'after',
    acted: (b, a) => expect(inRotation(a)).toBe(inRotation(b) - 1),
  },
  {
    name: 'rolling, first instance restarted, before enable_target',
    manifest: rolling,
    kind: 'enable_target',
    when: 'before',
    acted: (b, a) => expect(inRotation(a)).toBe(inRotation(b) - 1),
  },
];

describe.skipIf(skip)('kill -9 of a deploy through a real HAProxy at its router steps', { timeout: 120_000 }, () => {
  let h: HaproxyApp;
  let version = 1;

  beforeAll(async () => {
    h = await HaproxyApp.create('v1', blueGreen);
    const init = await h.app.run(['router', 'init']);
    expect(init.code, init.stderr).toBe(0);
    await h.hx.start({ stub: false });
    const first = await h.app.deploy();
    expect(first.code, first.stderr).toBe(0);
    await h.expectOnly('v1');
  }, 60_000);

  afterAll(async () => {
    const stopped = h ? await h.app.stopRuntime() : null;
    await h?.hx.stop();
    if (h) rmSync(h.app.dir, { recursive: true, force: true });
    expect(stopped?.leftovers ?? [], 'processes left after `deployer runtime stop`').toEqual([]);
  });

  /** The crash point of `p` in the plan a deploy would run now. */
  async function crashPoint(p: Point): Promise<string> {
    const dry = await h.app.run(['deploy', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const steps = dry.json!.steps as { kind: string; delayMs?: number }[];
    // a stop_instances with a delay only schedules the stop (the daemon does it): the immediate one changes HAProxy
    const at = steps.flatMap((s, i) => (s.kind === p.kind && !s.delayMs ? [i] : []))[p.nth ?? 0];
    expect(at, `${p.kind} in ${steps.map((s) => s.kind).join(',')}`).toBeDefined();
    return `step:${at}:${p.when}`;
  }

  it.each(points)('crash at $kind:$when ($name): HAProxy serves whole versions, repair makes it agree with current, next deploy succeeds', async (p) => {
    h.writeManifest(p.manifest);
    const old = `v${version}`;
    const crashedVersion = `v${++version}`;
    h.app.setVersion(crashedVersion);
    const point = await crashPoint(p);
    const serversBefore = await h.servers();
    const crashed = await cli(['deploy', '--json'], { cwd: h.app.dir, env: { ...h.app.env(), DEPLOYER_TEST_CRASH: point }, timeoutMs: 90_000 });
    expect(crashed.signal, `${point}: ${crashed.stderr}`).toBe('SIGKILL');

    // every request still gets a whole version, the old or the new one
    const served = await h.sample(20);
    for (const v of Object.keys(served)) expect([old, crashedVersion], `${point}: ${JSON.stringify(served)}`).toContain(v);
    if (!p.split) expect(Object.keys(served), `${point}: ${JSON.stringify(served)}`).toHaveLength(1);
    p.acted(serversBefore, await h.servers(), served, crashedVersion);

    const rep = await h.app.run(['doctor', '--repair', '--json']);
    expect(rep.code, `${point}: ${rep.stdout}${rep.stderr}`).toBe(0);
    // HAProxy and current agree: whatever current names is all HAProxy serves
    const live = await h.currentVersion();
    expect([old, crashedVersion]).toContain(live);
    await h.expectOnly(live);
    const doc = await h.app.run(['doctor', '--json']);
    expect(doc.code, `${point}: ${doc.stdout}${doc.stderr}`).toBe(0);

    const next = `v${++version}`;
    h.app.setVersion(next);
    const dep = await h.app.deploy();
    expect(dep.code, `${point}: ${dep.stderr}`).toBe(0);
    await h.expectOnly(next);
  });
});
