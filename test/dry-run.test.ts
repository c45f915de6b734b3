import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hooksYaml, readLog, snapshotTree, writeManifest } from './support/fixtures.js';
import { servedVersion } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

/**
 * `--dry-run` prints the plan a real run would execute and changes nothing; the real run then
 * executes exactly those steps (read back from its deploy log).
 */

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('dryrun');
  await sb.writeApp('v1');
  writeManifest(sb, { extra: `deployment:\n  shared_dirs: [logs]\n${hooksYaml({ build: ['true'], post_deploy: ['true'] })}` });
});
afterEach(() => sb.cleanup());

type Step = Record<string, unknown> & { kind: string };
const snapshot = () => snapshotTree(sb.appRoot, ['shared/app.log']);

/** A step without the values that differ between two runs (ids) and without its on_error. */
function shape(s: Step, release: string): string {
  const { on_error: _onError, ...rest } = s;
  return JSON.stringify(rest).replaceAll(release, '<release>');
}

/** The main steps the real run started, in order, from its deploy log. */
function executed(logPath: string): { plan: { steps: { step: Step; onError: string }[]; release: string }; started: { index: number; title: string }[] } {
  const events = readLog(logPath);
  const plan = events.find((e) => e.type === 'plan')!.plan as { steps: { step: Step; onError: string }[]; release: string };
  const started = events.filter((e) => e.type === 'step_start' && e.phase === 'main') as unknown as { index: number; title: string }[];
  return { plan, started };
}

/** The progress title a step of each kind starts with. */
function titlePrefix(s: Step): string {
  switch (s.kind) {
    case 'prepare_release':
      return 'prepare release';
    case 'hook':
      return `hook ${s.event as string}`;
    case 'activate':
      return 'activate';
    case 'health_check':
      return 'health check';
    default:
      return s.kind;
  }
}

function expectSameSteps(dry: Record<string, unknown>, logPath: string, realRelease: string): void {
  const drySteps = dry.steps as Step[];
  const { plan, started } = executed(logPath);
  expect(plan.release).toBe(realRelease);
  // same kinds, same order, same details once the release id is set aside
  expect(plan.steps.map((p) => shape(p.step, realRelease))).toEqual(drySteps.map((s) => shape(s, dry.release as string)));
  expect(plan.steps.map((p) => p.onError)).toEqual(drySteps.map((s) => s.on_error));
  // and each of them was started, in that order
  expect(started.map((s) => s.index)).toEqual(drySteps.map((_, i) => i));
  started.forEach((s, i) => expect(s.title.startsWith(titlePrefix(drySteps[i]!)), `${s.title} vs ${drySteps[i]!.kind}`).toBe(true));
}

describe('deploy --dry-run', () => {
  it('on a first run prints the plan and creates nothing, not even the app root', async () => {
    const r = await sb.run(['deploy', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ dry_run: true, app: 'testapp', strategy: 'recreate', previous: null });
    const kinds = (r.json!.steps as Step[]).map((s) => (s.kind === 'hook' ? `hook ${s.event as string}` : s.kind));
    expect(kinds).toEqual([
      'prepare_release',
      'hook pre_deploy',
      'hook check_dependencies',
      'hook pre_build',
      'hook build',
      'hook pre_activate',
      'activate',
      'health_check',
      'hook post_deploy',
      'hook post_activate',
      'hook notify',
      'cleanup',
    ]);
    expect(r.stderr).toContain('plan: deploy testapp');
    expect(r.stderr).toContain('nothing live yet');
    expect(existsSync(sb.appRoot)).toBe(false);
    expect(existsSync(sb.home)).toBe(false);
    expect(await servedVersion(sb.port)).toBeUndefined();

    // the real first deploy runs those very steps
    const real = await sb.run(['deploy', '--json']);
    expect(real.code, real.stderr).toBe(0);
    expectSameSteps(r.json!, real.json!.log as string, real.json!.release as string);
  });

  it('after a deploy changes nothing, and the next real deploy executes the steps it printed', async () => {
    const first = await sb.run(['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    sb.setVersion('v2');
    const before = snapshot();

    const dry = await sb.run(['deploy', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json).toMatchObject({ dry_run: true, previous: first.json!.release });
    expect(snapshot()).toEqual(before);
    expect(existsSync(join(sb.appRoot, '.deploy_state', 'deploy.lock'))).toBe(false);
    // the app was not restarted onto anything new
    expect(await servedVersion(sb.port)).toBe('v1');
    // the plain form prints the same plan for people
    const human = await sb.run(['deploy', '--dry-run']);
    expect(human.code).toBe(0);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/^ +1\. prepare release .* \(unchanged files linked from /m);
    expect(snapshot()).toEqual(before);

    const real = await sb.run(['deploy', '--json']);
    expect(real.code, real.stderr).toBe(0);
    expect(await servedVersion(sb.port)).toBe('v2');
    expectSameSteps(dry.json!, real.json!.log as string, real.json!.release as string);
  });
});

describe('rollback --dry-run', () => {
  it('prints the rollback plan, changes nothing, and the real rollback executes it', async () => {
    const a = await sb.run(['deploy', '--json']);
    sb.setVersion('v2');
    const b = await sb.run(['deploy', '--json']);
    expect(b.code, b.stderr).toBe(0);
    const before = snapshot();

    const dry = await sb.run(['rollback', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.json).toMatchObject({ dry_run: true, release: a.json!.release, previous: b.json!.release, strategy: 'rollback' });
    const steps = dry.json!.steps as Step[];
    expect(steps.map((s) => (s.kind === 'hook' ? `hook ${s.event as string}` : s.kind))).toEqual(['hook pre_rollback', 'activate', 'health_check', 'hook post_rollback', 'hook on_rollback']);
    expect(snapshot()).toEqual(before);
    expect(await servedVersion(sb.port)).toBe('v2');

    const real = await sb.run(['rollback', '--json']);
    expect(real.code, real.stderr).toBe(0);
    expect(real.json!.release).toBe(a.json!.release);
    expect(await servedVersion(sb.port)).toBe('v1');
    expectSameSteps(dry.json!, real.json!.log as string, real.json!.release as string);

    // --to: the plan names that release; nothing changes
    const after = snapshot();
    const to = await sb.run(['rollback', '--to', b.json!.release as string, '--dry-run', '--json']);
    expect(to.code, to.stderr).toBe(0);
    expect(to.json).toMatchObject({ release: b.json!.release, previous: a.json!.release });
    expect(snapshot()).toEqual(after);
  });

  it('with nothing deployed says so (exit 2) and creates nothing', async () => {
    const r = await sb.run(['rollback', '--dry-run', '--json']);
    expect(r.code).toBe(2);
    expect(r.json).toMatchObject({ exit_code: 2, error: 'nothing is deployed yet: no release to roll back to' });
    expect(existsSync(sb.home)).toBe(false);
  });
});

describe('the history is not touched by a dry run', () => {
  it('has only the real operations', async () => {
    await sb.run(['deploy', '--dry-run']);
    const r = await sb.run(['deploy', '--json']);
    await sb.run(['deploy', '--dry-run']);
    await sb.run(['rollback', '--dry-run']);
    const lines = readFileSync(join(sb.appRoot, '.deploy_state', 'history.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { deploy_id: string }).deploy_id)).toEqual([r.json!.deploy_id]);
  });
});
