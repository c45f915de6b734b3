import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN } from './support/cli.js';
import { isDead } from './support/fixtures.js';
import { servedVersion, waitFor } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

let sb: Sandbox;
afterEach(() => sb.cleanup());

/** Starts a deploy, sends `sig` once `ready(stderr)` holds (polled), returns how it ended. */
function interruptWhen(ready: (stderr: string) => boolean, sig: NodeJS.Signals): Promise<{ code: number | null; stderr: string; ms: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'deploy'], { cwd: sb.dir, env: { ...process.env, ...sb.env(), CI: 'true', NO_COLOR: '1' } });
    let stderr = '';
    let sentAt = 0;
    child.stderr.on('data', (d) => (stderr += d));
    const poll = setInterval(() => {
      if (!sentAt && ready(stderr)) {
        sentAt = Date.now();
        child.kill(sig);
        clearInterval(poll);
      }
    }, 20);
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ code, stderr, ms: Date.now() - sentAt });
    });
  });
}

describe('Ctrl-C during a deploy', () => {
  it('SIGINT while a build hook runs: the hook is killed, the release removed, the lock released, v1 keeps serving', async () => {
    sb = new Sandbox('sigint');
    await sb.writeApp('v1');
    sb.manifest();
    const first = await sb.run(['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    sb.manifest('hooks:\n  build: ["echo $$ > $DEPLOY_APP_ROOT/build.pid; sleep 30"]\n');
    sb.setVersion('v2');
    // once the hook has really started (it wrote its pid)
    const r = await interruptWhen(() => existsSync(join(sb.appRoot, 'build.pid')), 'SIGINT');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('SIGINT: stopping after the current step');
    expect(r.ms).toBeLessThan(10_000);
    expect(existsSync(join(sb.appRoot, '.deploy_state', 'deploy.lock'))).toBe(false);
    expect(existsSync(join(sb.appRoot, '.deploy_state', 'journal.json'))).toBe(false);
    expect(readdirSync(join(sb.appRoot, 'releases'))).toEqual([first.json!.release]);
    expect(readlinkSync(join(sb.appRoot, 'current'))).toBe(`releases/${first.json!.release}`);
    expect(await servedVersion(sb.port)).toBe('v1');
    const hookPid = Number(readFileSync(join(sb.appRoot, 'build.pid'), 'utf8'));
    await waitFor(() => (isDead(hookPid) ? true : undefined), 'the build hook to be killed', 5000);
    const hist = await sb.run(['history', '--json']);
    expect((hist.json!.history as { result: string }[]).at(-1)!.result).toBe('failed');
  });

  it('SIGTERM after activation (during the health check) goes back to the previous release', async () => {
    sb = new Sandbox('sigterm');
    await sb.writeApp('v1');
    sb.manifest();
    const first = await sb.run(['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    // the new release never turns healthy (503): the check would retry for its whole minute
    sb.manifest('', { checks: false });
    sb.writeManifest(`${readFileSync(join(sb.dir, 'deploy.yml'), 'utf8')}health_checks:\n  - { url: "http://127.0.0.1:{port}/health", timeout: 60s, interval: 100ms }\n`);
    writeFileSync(join(sb.src, 'UNHEALTHY'), '');
    sb.setVersion('v2');
    // once the check has failed a few attempts against the new release
    const r = await interruptWhen((err) => err.includes('[8/12] health check'), 'SIGTERM');
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('rolled back to');
    expect(readlinkSync(join(sb.appRoot, 'current'))).toBe(`releases/${first.json!.release}`);
    await waitFor(async () => ((await servedVersion(sb.port)) === 'v1' ? true : undefined), 'v1 to serve again');
    expect(existsSync(join(sb.appRoot, '.deploy_state', 'deploy.lock'))).toBe(false);
  });
});
