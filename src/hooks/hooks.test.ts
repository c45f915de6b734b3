import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejection, until } from '../checks/test-support.js';
import { CommandFailed } from '../errors.js';
import { LocalTransport } from '../hosts/local.js';
import { hooksSchema } from '../manifest/schema/hooks.js';
import { resolveHook, scriptCandidates, type HookCommand } from './resolve.js';
import { hookEnv, runHookCommands, type HookEnvInput, type RunHookOptions } from './run.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deployer-hooks-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function script(rel: string, body: string, mode = 0o755): string {
  const p = join(dir, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, mode);
  return p;
}

const config = (c: Record<string, unknown> = {}) => hooksSchema.parse(c);
const scripts = (cmds: HookCommand[]) => cmds.map((c) => (c.kind === 'inline' ? `inline: ${c.command}` : `script: ${c.display}`));

describe('scriptCandidates', () => {
  it('lists the places a release may carry a hook script, in order', () => {
    expect(scriptCandidates('build')).toEqual(['deploy/hooks/build', 'deploy/hooks/build.sh', '.deploy/build']);
    expect(scriptCandidates('pre_deploy', 'scripts/hooks//')).toEqual([
      'deploy/hooks/pre_deploy',
      'deploy/hooks/pre_deploy.sh',
      '.deploy/pre_deploy',
      'scripts/hooks/pre_deploy',
      'scripts/hooks/pre_deploy.sh',
    ]);
  });
});

describe('resolveHook', () => {
  it('gives the inline commands alone when there is no release dir', async () => {
    script('deploy/hooks/build', 'true');
    const r = await resolveHook('build', config({ build: ['npm ci', 'npm run build'] }), null);
    expect(scripts(r.commands)).toEqual(['inline: npm ci', 'inline: npm run build']);
    expect(r.warnings).toEqual([]);
  });

  it('puts the inline commands first, then the first executable script, in the documented order', async () => {
    const candidates = ['deploy/hooks/build', 'deploy/hooks/build.sh', '.deploy/build', 'ops/build', 'ops/build.sh'];
    for (const c of candidates) script(c, 'true');
    const cfg = config({ build: 'make', dir: 'ops' });
    for (const expected of candidates) {
      const r = await resolveHook('build', cfg, dir);
      expect(scripts(r.commands)).toEqual(['inline: make', `script: ${expected}`]);
      expect(r.commands[1]).toEqual({ kind: 'script', path: join(dir, expected), display: expected });
      rmSync(join(dir, expected));
    }
    expect(scripts((await resolveHook('build', cfg, dir)).commands)).toEqual(['inline: make']);
  });

  it('does not look in hooks.dir unless it is configured', async () => {
    script('ops/build', 'true');
    expect((await resolveHook('build', config(), dir)).commands).toEqual([]);
  });

  it('skips a script that is not executable, with a warning, and takes the next one', async () => {
    script('deploy/hooks/build', 'true', 0o644);
    script('.deploy/build', 'true');
    const r = await resolveHook('build', config(), dir);
    expect(scripts(r.commands)).toEqual(['script: .deploy/build']);
    expect(r.warnings).toEqual(['hook script deploy/hooks/build was ignored because it is not executable (chmod +x deploy/hooks/build)']);
  });

  it('ignores a directory with the name of a script, and scripts of other events', async () => {
    mkdirSync(join(dir, 'deploy/hooks/build'), { recursive: true });
    script('deploy/hooks/pre_build', 'true');
    const r = await resolveHook('build', config(), dir);
    expect(r).toEqual({ commands: [], warnings: [] });
  });
});

describe('hookEnv', () => {
  const input: HookEnvInput = {
    event: 'post_deploy',
    appRoot: '/srv/app',
    releaseDir: '/srv/app/releases/20240101_000000',
    releaseId: '20240101_000000',
    strategy: 'recreate',
    host: 'web1',
    deployId: 'dep-1',
    timestamp: '2024-01-01T00:00:00.000Z',
    previousRelease: '20231231_000000',
    version: '1.2.3',
    environment: { APP_ENV: 'production', DEPLOY_HOST: 'spoofed', PATH: '/manifest/bin' },
  };

  it('has the DEPLOY_* variables over the manifest environment over the base', () => {
    expect(hookEnv(input, { PATH: '/usr/bin', HOME: '/home/me' })).toEqual({
      HOME: '/home/me',
      PATH: '/manifest/bin',
      APP_ENV: 'production',
      DEPLOY_HOOK_NAME: 'post_deploy',
      DEPLOY_APP_ROOT: '/srv/app',
      DEPLOY_RELEASE_DIR: '/srv/app/releases/20240101_000000',
      RELEASE_DIR: '/srv/app/releases/20240101_000000',
      DEPLOY_RELEASE_ID: '20240101_000000',
      DEPLOY_TIMESTAMP: '2024-01-01T00:00:00.000Z',
      DEPLOY_STRATEGY: 'recreate',
      DEPLOY_HOST: 'web1',
      DEPLOY_ID: 'dep-1',
      DEPLOY_PREVIOUS_RELEASE: '20231231_000000',
      DEPLOY_VERSION: '1.2.3',
    });
  });

  it('writes empty strings for what is not known', () => {
    const env = hookEnv({ ...input, releaseDir: null, releaseId: null, previousRelease: null, version: undefined }, {});
    expect(env).toMatchObject({ DEPLOY_RELEASE_DIR: '', RELEASE_DIR: '', DEPLOY_RELEASE_ID: '', DEPLOY_PREVIOUS_RELEASE: '', DEPLOY_VERSION: '' });
  });
});

describe('runHookCommands', () => {
  const t = new LocalTransport();
  const opts = (o: Partial<RunHookOptions> = {}): RunHookOptions => ({ transport: t, cwd: dir, env: { PATH: process.env.PATH }, timeoutMs: 10_000, ...o });
  const inline = (command: string): HookCommand => ({ kind: 'inline', command });

  it('runs in the given directory with exactly the given environment', async () => {
    const env = hookEnv(
      { event: 'build', appRoot: dir, releaseDir: dir, releaseId: '20240101_000000', strategy: 'recreate', host: 'local', deployId: 'dep-9', timestamp: 'ts', environment: { APP_ENV: 'staging' } },
      { PATH: process.env.PATH },
    );
    await runHookCommands('build', [inline('pwd > where; echo "$DEPLOY_HOOK_NAME|$DEPLOY_ID|$DEPLOY_RELEASE_ID|$RELEASE_DIR|$APP_ENV|${HOME:-no home}" > env')], opts({ env }));
    expect(readFileSync(join(dir, 'where'), 'utf8').trim()).toBe(dir);
    expect(readFileSync(join(dir, 'env'), 'utf8')).toBe(`build|dep-9|20240101_000000|${dir}|staging|no home\n`);
  });

  it('passes args as $1.. to inline commands ($0 is the event) and to scripts', async () => {
    const s = script('deploy/hooks/on_rollback', 'printf "%s|%s|%s\\n" "$#" "$1" "$2" > script-args');
    await runHookCommands(
      'on_rollback',
      [inline('printf "%s|%s|%s|%s\\n" "$0" "$#" "$1" "$2" > inline-args'), { kind: 'script', path: s, display: 'deploy/hooks/on_rollback' }],
      opts({ args: ['20240102_000000', 'with space'] }),
    );
    expect(readFileSync(join(dir, 'inline-args'), 'utf8')).toBe('on_rollback|2|20240102_000000|with space\n');
    expect(readFileSync(join(dir, 'script-args'), 'utf8')).toBe('2|20240102_000000|with space\n');
  });

  it('runs the commands in order and stops at the first failure', async () => {
    const e = await rejection(runHookCommands('build', [inline('echo one >> log'), inline('echo two >> log; exit 3'), inline('echo three >> log')], opts()), CommandFailed);
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe('one\ntwo\n');
    expect(e.message).toBe('hook build: command "echo two >> log; exit 3" exited with status 3');
  });

  it('puts the last ten non-empty lines of output in the error', async () => {
    // (one stream only: the order of stdout and stderr lines between the two pipes is not fixed)
    const cmd = 'for i in $(seq 1 30); do echo "line $i"; echo; done; exit 4';
    const e = await rejection(runHookCommands('pre_deploy', [inline(cmd)], opts()), CommandFailed);
    const expected = Array.from({ length: 10 }, (_, i) => `    | line ${21 + i}`);
    expect(e.message).toBe(`hook pre_deploy: command "${cmd}" exited with status 4\n${expected.join('\n')}`);
  });

  it('names a failing script by its path in the release', async () => {
    const s = script('.deploy/build', 'echo "cannot build" >&2\nexit 2');
    const e = await rejection(runHookCommands('build', [{ kind: 'script', path: s, display: '.deploy/build' }], opts()), CommandFailed);
    expect(e.message).toBe('hook build: script .deploy/build exited with status 2\n    | cannot build');
  });

  it('reports a script that cannot be started', async () => {
    const e = await rejection(runHookCommands('build', [{ kind: 'script', path: join(dir, 'missing'), display: 'missing' }], opts()), CommandFailed);
    expect(e.message).toMatch(/^hook build: script missing could not start: .*ENOENT/);
  });

  it('streams each line to onLine with its stream', async () => {
    const lines: string[] = [];
    await runHookCommands('build', [inline('echo out; echo err >&2')], opts({ onLine: (l, s) => lines.push(`${s}: ${l}`) }));
    expect(lines.sort()).toEqual(['stderr: err', 'stdout: out']);
  });

  it('kills the whole process group at the timeout', async () => {
    const pidFile = join(dir, 'bg.pid');
    const started = performance.now();
    const e = await rejection(runHookCommands('build', [inline(`sleep 30 & echo $! > "${pidFile}"; sleep 30`)], opts({ timeoutMs: 500 })), CommandFailed);
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(e.message).toBe(`hook build: command "sleep 30 & echo $! > "${pidFile}"; sleep 30" timed out after 500 ms and was killed`);
    expect(existsSync(pidFile)).toBe(true);
    const bg = Number(readFileSync(pidFile, 'utf8'));
    expect(bg).toBeGreaterThan(1);
    expect(await until(() => isDead(bg), 5000)).toBe(true);
  });
});

/** Gone, or a zombie nobody has reaped yet (State: Z in /proc/PID/status). */
function isDead(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    return /^State:\s*Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}
