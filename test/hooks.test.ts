import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hooksYaml, isDead, readLog, writeManifest } from './support/fixtures.js';
import { servedVersion, waitFor } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

/** Lifecycle hooks through real deploys: order, environment, release scripts, failures, timeouts. */

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('hooks');
  await sb.writeApp('v1');
});
afterEach(() => sb.cleanup());

const DEPLOY_EVENTS = ['pre_deploy', 'check_dependencies', 'pre_build', 'build', 'pre_activate', 'post_deploy', 'post_activate', 'notify'];
const OTHER_EVENTS = ['pre_rollback', 'post_rollback', 'on_rollback', 'on_failure'];
/** Appends the event name (and any arguments) to app_root/order: the file survives every release. */
const RECORD = 'echo "$DEPLOY_HOOK_NAME${1:+ $1 $2}" >> "$DEPLOY_APP_ROOT/order"';

const releaseIds = () => readdirSync(join(sb.appRoot, 'releases')).sort();
const current = () => readlinkSync(join(sb.appRoot, 'current'));
const orderFile = () => join(sb.appRoot, 'order');
const order = () => (existsSync(orderFile()) ? readFileSync(orderFile(), 'utf8').trim().split('\n') : []);
const lockGone = () => !existsSync(join(sb.appRoot, '.deploy_state', 'deploy.lock'));
const history = () =>
  readFileSync(join(sb.appRoot, '.deploy_state', 'history.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);

function recordAll(overrides: Record<string, string[]> = {}, settings: Record<string, string> = {}): string {
  const hooks: Record<string, string[]> = {};
  for (const e of [...DEPLOY_EVENTS, ...OTHER_EVENTS]) hooks[e] = [RECORD, ...(overrides[e] ?? [])];
  return hooksYaml(hooks, settings);
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) env[line.slice(0, i)] = line.slice(i + 1);
  }
  return env;
}

describe('hooks in a successful deploy', () => {
  it('run in lifecycle order with the DEPLOY_* variables and `environment:` set', async () => {
    const dump = 'env > "$DEPLOY_APP_ROOT/env.$DEPLOY_HOOK_NAME"; pwd > "$DEPLOY_APP_ROOT/cwd.$DEPLOY_HOOK_NAME"';
    writeManifest(sb, { env: { APP_ENV: 'hook-test-env', FEATURE_FLAG: 'on-for-hooks' }, extra: recordAll({ build: [dump], post_activate: [dump] }) });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(order()).toEqual(DEPLOY_EVENTS);

    const id = r.json!.release as string;
    const releaseDir = join(sb.appRoot, 'releases', id);
    for (const event of ['build', 'post_activate']) {
      const env = parseEnv(readFileSync(join(sb.appRoot, `env.${event}`), 'utf8'));
      expect(env).toMatchObject({
        DEPLOY_HOOK_NAME: event,
        DEPLOY_RELEASE_DIR: releaseDir,
        RELEASE_DIR: releaseDir,
        DEPLOY_APP_ROOT: sb.appRoot,
        DEPLOY_RELEASE_ID: id,
        DEPLOY_STRATEGY: 'recreate',
        DEPLOY_HOST: 'local',
        DEPLOY_ID: r.json!.deploy_id,
        APP_ENV: 'hook-test-env',
        FEATURE_FLAG: 'on-for-hooks',
        PORT: String(sb.port),
      });
      expect(Number.isNaN(Date.parse(env.DEPLOY_TIMESTAMP!))).toBe(false);
      expect(env.DEPLOY_TIMESTAMP).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      // hooks run in the release directory
      expect(readFileSync(join(sb.appRoot, `cwd.${event}`), 'utf8').trim()).toBe(releaseDir);
    }
  });

  it('runs scripts the release carries; a script that is not executable is skipped with a warning', async () => {
    const script = (rel: string, body: string, mode: number) => {
      mkdirSync(join(sb.src, rel, '..'), { recursive: true });
      writeFileSync(join(sb.src, rel), `#!/bin/sh\n${body}\n`);
      chmodSync(join(sb.src, rel), mode);
    };
    script('deploy/hooks/build', 'echo "script build $(basename "$PWD")" >> "$DEPLOY_APP_ROOT/order"', 0o755);
    script('deploy/hooks/pre_deploy.sh', 'echo "script pre_deploy" >> "$DEPLOY_APP_ROOT/order"', 0o755);
    script('.deploy/post_deploy', 'echo "script post_deploy" >> "$DEPLOY_APP_ROOT/order"', 0o755);
    script('deploy/hooks/pre_build', 'echo "script pre_build" >> "$DEPLOY_APP_ROOT/order"', 0o644);
    writeManifest(sb, { extra: hooksYaml({ build: ['echo "inline build" >> "$DEPLOY_APP_ROOT/order"'] }) });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    // inline commands first, then the release's script
    expect(order()).toEqual(['script pre_deploy', 'inline build', `script build ${r.json!.release as string}`, 'script post_deploy']);
    expect(r.stderr).toMatch(/warning: hook script deploy\/hooks\/pre_build was ignored because it is not executable/);
    expect(await servedVersion(sb.port)).toBe('v1');
  });

  it('keeps the hook output in the deploy log', async () => {
    writeManifest(sb, { extra: hooksYaml({ build: ['echo "built with marker-7431"; echo "compiler warning marker-1347" >&2'] }) });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const logPath = join(sb.appRoot, '.deploy_state', 'logs', `${r.json!.deploy_id as string}.jsonl`);
    expect(r.json!.log).toBe(logPath);
    const lines = readLog(logPath).filter((e) => e.type === 'log' && e.source === 'hook build');
    expect(lines.map((e) => e.message).sort()).toEqual(['built with marker-7431', 'compiler warning marker-1347']);
  });
});

describe('failing hooks', () => {
  it.each(['pre_deploy', 'build'])('a failing %s aborts before anything live changes', async (event) => {
    writeManifest(sb, { extra: recordAll() });
    const first = await sb.run(['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const v1 = first.json!.release as string;
    writeFileSync(orderFile(), '');

    sb.setVersion('v2');
    writeManifest(sb, { extra: recordAll({ [event]: ['echo about-to-fail; exit 7'] }) });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`hook ${event}: command "echo about-to-fail; exit 7" exited with status 7`);
    expect(r.stderr).toContain('| about-to-fail');
    expect(r.json).toMatchObject({ result: 'failed', rolled_back: false, previous: v1 });
    const failedId = r.json!.release as string;

    // hooks up to the failing one, then on_failure; no activation hooks, no rollback hooks
    const upTo = DEPLOY_EVENTS.slice(0, DEPLOY_EVENTS.indexOf(event) + 1);
    expect(order()).toEqual([...upTo, 'on_failure']);
    // nothing live changed, the half-made release is gone, the lock is released
    expect(current()).toBe(`releases/${v1}`);
    expect(await servedVersion(sb.port)).toBe('v1');
    expect(releaseIds()).toEqual([v1]);
    expect(lockGone()).toBe(true);
    expect(history().at(-1)).toMatchObject({ release: failedId, result: 'failed', rolled_back: false, error: expect.stringContaining(`hook ${event}`) });
    const last = JSON.parse(readFileSync(join(sb.appRoot, '.deploy_state', 'last_deploy.json'), 'utf8'));
    expect(last).toMatchObject({ release: failedId, result: 'failed' });
  });

  it('a hook past hooks.timeout is killed with its whole process group and the deploy fails', async () => {
    const bgPid = join(sb.dir, 'bg.pid');
    writeManifest(sb, {
      extra: hooksYaml({ build: [`sleep 60 & echo $! > ${bgPid}; sleep 60`], on_failure: [RECORD] }, { timeout: '1s' }),
    });
    const first = await sb.run(['deploy', '--json']);
    // the first deploy times out too: nothing was live before, so nothing is live now
    expect(first.code).toBe(1);
    expect(first.stderr).toMatch(/hook build: command .* timed out after 1000 ms and was killed/);
    const pid = Number(readFileSync(bgPid, 'utf8').trim());
    expect(pid).toBeGreaterThan(0);
    await waitFor(() => (isDead(pid) ? true : undefined), `background child ${pid} to be dead`, 5000);
    expect(order()).toEqual(['on_failure']);
    expect(existsSync(join(sb.appRoot, 'current'))).toBe(false);
    expect(releaseIds()).toEqual([]);
    expect(lockGone()).toBe(true);
    expect(history().at(-1)).toMatchObject({ result: 'failed', error: expect.stringContaining('timed out') });
  });

  it('a hook past the timeout on a redeploy leaves the previous release live', async () => {
    writeManifest(sb);
    const first = await sb.run(['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const bgPid = join(sb.dir, 'bg.pid');
    sb.setVersion('v2');
    writeManifest(sb, { extra: hooksYaml({ pre_build: [`(trap '' TERM; sleep 60) & echo $! > ${bgPid}; wait`] }, { timeout: '1s' }) });
    const started = Date.now();
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(r.json!.error).toMatch(/hook pre_build: .* timed out after 1000 ms and was killed/);
    // a child that ignores SIGTERM is SIGKILLed with the group after the grace period
    const pid = Number(readFileSync(bgPid, 'utf8').trim());
    await waitFor(() => (isDead(pid) ? true : undefined), `background child ${pid} to be dead`, 5000);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(current()).toBe(`releases/${first.json!.release as string}`);
    expect(await servedVersion(sb.port)).toBe('v1');
    expect(releaseIds()).toEqual([first.json!.release]);
  });

  it('a failing post_deploy only warns: exit 0, the new release is live, the warning is in stderr and --json', async () => {
    writeManifest(sb);
    expect((await sb.run(['deploy'])).code).toBe(0);
    sb.setVersion('v2');
    writeManifest(sb, { extra: recordAll({ post_deploy: ['echo "migration broke" >&2; exit 3'] }) });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ result: 'succeeded', rolled_back: false });
    expect(current()).toBe(`releases/${r.json!.release as string}`);
    expect(await servedVersion(sb.port)).toBe('v2');
    // the later post hooks still ran; nothing was rolled back
    expect(order()).toEqual(DEPLOY_EVENTS);
    const warnings = r.json!.warnings as string[];
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('hook post_deploy');
    expect(warnings[0]).toContain('exited with status 3');
    expect(r.stderr).toMatch(/warning: hook post_deploy: .*exited with status 3/);
    expect(history().at(-1)).toMatchObject({ result: 'succeeded', release: r.json!.release });
  });

  it('an auto-rollback runs pre_rollback, post_rollback and on_rollback (with the failed and restored ids)', async () => {
    writeManifest(sb, { extra: recordAll() });
    const first = await sb.run(['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const v1 = first.json!.release as string;
    writeFileSync(orderFile(), '');

    sb.setVersion('v2');
    writeFileSync(join(sb.src, 'UNHEALTHY'), '');
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ result: 'rolled_back', rolled_back: true, previous: v1 });
    const failed = r.json!.release as string;
    expect(order()).toEqual(['pre_deploy', 'check_dependencies', 'pre_build', 'build', 'pre_activate', 'pre_rollback', 'post_rollback', `on_rollback ${failed} ${v1}`, 'on_failure']);
    await waitFor(async () => ((await servedVersion(sb.port)) === 'v1' ? true : undefined), 'v1 to serve again');
    expect(current()).toBe(`releases/${v1}`);
    expect(lockGone()).toBe(true);
    expect(history().at(-1)).toMatchObject({ release: failed, result: 'rolled_back', rolled_back: true });
  });
});
