import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isGone } from '../checks/test-support.js';
import { lastNumber, measureCommand, runShellCommand } from './command-provider.js';
import { metricConfig } from './test-support.js';
import type { AnalysisDeps } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'analysis-cmd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const deps: AnalysisDeps = {
  router: { snapshot: () => Promise.resolve({}) },
  fetch,
  runCommand: runShellCommand,
  now: () => 0,
  env: { APP_ENV: 'production', DEPLOY_POOL: 'overridden' },
  cwd: dir,
};
const subject = { pool: 'canary', release: '20240101_120000' };
const measure = (command: string, extra: Record<string, unknown> = {}) => measureCommand(metricConfig({ name: 'custom', provider: 'command', command, max: 1, ...extra }), deps, 'shop', subject, 10_400);

describe('command provider', () => {
  it('runs the command with sh in the release dir and takes the last non-empty stdout line as the value', async () => {
    expect(await measure('echo "checking..."; echo 42.5; echo; echo "  "')).toEqual({ ok: true, value: 42.5 });
    expect(await measure('pwd -P > where; echo 0')).toEqual({ ok: true, value: 0 });
    expect(readFileSync(join(dir, 'where'), 'utf8').trim()).toBe(realpathSync(dir));
  });

  it('passes the manifest environment and what is measured', async () => {
    const r = await measure('echo "$APP_ENV $DEPLOY_APP $DEPLOY_POOL $DEPLOY_RELEASE $DEPLOY_ANALYSIS_INTERVAL_MS" >&2; test -n "$PATH" && echo "$DEPLOY_ANALYSIS_INTERVAL_MS"');
    expect(r).toEqual({ ok: true, value: 10_400 });
    const seen = await runShellCommand('echo "$APP_ENV $DEPLOY_POOL"', { env: { APP_ENV: 'x', DEPLOY_POOL: 'p' }, timeoutMs: 5000 });
    expect(seen).toEqual({ code: 0, stdout: 'x p\n', stderr: '' });
    const env = await measure('printf "%s\\n" "$APP_ENV-$DEPLOY_APP-$DEPLOY_POOL-$DEPLOY_RELEASE" > env.txt; echo 1');
    expect(env).toEqual({ ok: true, value: 1 });
    expect(readFileSync(join(dir, 'env.txt'), 'utf8')).toBe('production-shop-canary-20240101_120000\n');
  });

  it('is no measurement when the command fails or prints no number, with the end of its stderr', async () => {
    expect(await measure('echo 5; echo "line 1" >&2; echo "connection refused" >&2; exit 3')).toEqual({ ok: false, reason: 'command exited with status 3: line 1 | connection refused' });
    expect(await measure('echo "12 ms"')).toEqual({ ok: false, reason: 'command printed "12 ms" last, not a number' });
    expect(await measure('echo warn >&2')).toEqual({ ok: false, reason: 'command printed nothing (stderr: warn)' });
    expect(await measure('no-such-command-xyz')).toMatchObject({ ok: false, reason: expect.stringMatching(/^command exited with status 127: .*not found/) });
  });

  it('keeps only the tail of a flood of output: 100 MB without a newline, then the value', async () => {
    const started = performance.now();
    const r = await measure("head -c 100000000 /dev/zero | tr '\\0' x; echo; echo 7", { timeout: '30s' });
    expect(r).toEqual({ ok: true, value: 7 });
    expect(performance.now() - started).toBeLessThan(20_000);
    const out = await runShellCommand("head -c 10000000 /dev/zero | tr '\\0' x", { env: {}, timeoutMs: 30_000 });
    // the last (at most) 256 KiB, whole chunks of it
    expect(out.stdout.length).toBeLessThanOrEqual(256 * 1024);
    expect(out.stdout.length).toBeGreaterThan(128 * 1024);
  });

  it('kills the command and what it started at the timeout', async () => {
    const started = Date.now();
    const r = await measure('sleep 30 & echo $! > child.pid; wait', { timeout: '300ms' });
    expect(r).toEqual({ ok: false, reason: 'command did not complete: timed out after 300 ms and was killed' });
    expect(Date.now() - started).toBeLessThan(5000);
    const pid = Number(readFileSync(join(dir, 'child.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    const deadline = Date.now() + 5000;
    while (!isGone(pid) && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    expect(isGone(pid), `the command's child ${pid} is still alive`).toBe(true);
  });

  it('says when it could not start', async () => {
    const r = await runShellCommand('echo hi', { env: {}, timeoutMs: 5000, cwd: join(dir, 'missing') });
    expect(r.code).toBeNull();
    expect(r.stderr).toMatch(/could not start/);
    expect(await measureCommand(metricConfig({ name: 'c', provider: 'command', command: 'echo 1', max: 1 }), { ...deps, cwd: join(dir, 'missing') }, 'shop', subject, 1000)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^command did not complete: could not start/),
    });
  });

  it('reads the last non-empty line', () => {
    expect(lastNumber('a\n 7 \n\n')).toEqual({ line: '7', value: 7 });
    expect(lastNumber('')).toEqual({ line: '', value: null });
    expect(lastNumber('Infinity\n')).toEqual({ line: 'Infinity', value: null });
  });
});
