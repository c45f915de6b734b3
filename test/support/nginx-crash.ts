// kill -9 of a deploy through a real nginx at a step of its plan (the step number read from the
// dry-run plan), and what must hold after it: nginx served whole versions throughout, its file is
// one nginx accepts, `doctor --repair` makes nginx and `current` agree, the next deploy succeeds.
import { execSync } from 'node:child_process';
import { expect } from 'vitest';
import { cli } from './cli.js';
import { describeLoad, startLoad, type LoadReport } from './load.js';
import { waitFor } from './net.js';
import { expectNoFailure, expectNoLock, expectServing, type NginxApp } from './nginx-app.js';
import type { ManifestOptions, RuntimeApp } from './runtime-app.js';

export interface Case {
  name: string;
  manifest: ManifestOptions;
  /** the step kind, and which of its occurrences in the plan (0: the first) */
  kind: string;
  nth?: number;
  /** `step:N:<at>`, or a named point inside that step */
  at: 'before' | 'after' | 'switch:routed';
  /** the deploy may have left traffic split between the two versions (a canary stage) */
  split?: boolean;
  /** otherwise the one version nginx serves right after the kill: the live one, or the one being deployed */
  serves?: 'before' | 'next';
}

export interface CrashOutcome {
  point: string;
  retried: number;
  /** the versions nginx served right after the kill */
  killedServing: string[];
  /** the version nginx served after doctor --repair */
  repairedTo: string;
}

/** The crash point of `c` in the plan of the next deploy (from `deploy --dry-run --json`). */
export async function pointOf(a: RuntimeApp, c: Case): Promise<string> {
  const dry = await a.run(['deploy', '--dry-run', '--json']);
  expect(dry.code, dry.stderr).toBe(0);
  const steps = dry.json!.steps as { kind: string }[];
  const at = steps.map((s, i) => (s.kind === c.kind ? i : -1)).filter((i) => i >= 0)[c.nth ?? 0];
  expect(at, `${c.kind} in the plan: ${steps.map((s) => s.kind).join(' ')}`).toBeDefined();
  return c.at === 'switch:routed' ? 'switch:routed' : `step:${at!}:${c.at}`;
}

/** `n` fresh requests through nginx: every one 200; the versions they named. */
export async function sample(a: RuntimeApp, n = 30): Promise<string[]> {
  const seen = new Set<string>();
  for (const v of await a.versions(n)) seen.add(v);
  return [...seen].sort();
}

/**
 * The app is live at `v<version.n>`: deploys the next version killed at `c`'s point under load, checks
 * nginx, repairs, checks nginx and current agree, deploys the one after. Advances `version.n`.
 */
export async function crashThenRepair(n: NginxApp, c: Case, version: { n: number }): Promise<CrashOutcome> {
  const a = n.app;
  n.write(c.manifest);
  const before = `v${version.n}`;
  const next = `v${++version.n}`;
  a.setVersion(next);
  const point = await pointOf(a, c);

  // load through nginx from before the kill until after the repair: not one request may fail
  const load = startLoad({ port: a.routerPort, connections: 4, retryStaleConnections: true });
  let report: LoadReport;
  let left: string[];
  try {
    await load.waitFor(30);
    const crashed = await cli(['deploy', '--json'], { cwd: a.dir, env: { ...a.env(), DEPLOYER_TEST_CRASH: point }, timeoutMs: 90_000 });
    expect(crashed.signal, `${point}: ${crashed.stderr}`).toBe('SIGKILL');
    await load.waitFor(load.total + 50);
    // what the deploy left in nginx's file is a whole configuration nginx accepts, and nginx serves it
    execSync(n.nginx.testCommand, { stdio: 'pipe' });
    left = await sample(a);
    if (c.split) expect([before, next]).toEqual(expect.arrayContaining(left));
    else expect(left, `${point}: one version, not ${left.join(', ')}`).toEqual([c.serves === 'next' ? next : before]);

    const rep = await a.run(['doctor', '--repair', '--json']);
    expect(rep.code, `${point}: ${rep.stdout}${rep.stderr}`).toBe(0);
    await load.waitFor(load.total + 50);
  } finally {
    report = await load.stop();
  }
  expectNoFailure(report, 100);
  for (const v of Object.keys(report.versions)) expect([before, next], describeLoad(report)).toContain(v);
  expectNoLock(a);
  // nginx serves one version, the one `current` names
  const served = await waitFor(async () => {
    const s = await sample(a, 10);
    return s.length === 1 ? s[0] : undefined;
  }, `${point}: nginx to serve one version`, 15_000, 100);
  expect([before, next]).toContain(served);
  await expectServing(a, served);
  const doc = await a.run(['doctor', '--json']);
  expect(doc.code, `${point}: ${doc.stdout}${doc.stderr}`).toBe(0);

  // and the next deploy succeeds
  const after = `v${++version.n}`;
  a.setVersion(after);
  const dep = await a.deploy();
  expect(dep.code, `${point}: ${dep.stderr}`).toBe(0);
  expect(await expectServing(a, after)).toBe(dep.json!.release);
  return { point, retried: report.retried, killedServing: left, repairedTo: served };
}
