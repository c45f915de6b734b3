import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { probeCommand } from './command.js';
import { isGone, until } from './test-support.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'deployer-checks-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});
const cmd = (command: string, extra: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) => ({ type: 'command' as const, command, ...extra });

describe('probeCommand', () => {
  it('passes on exit 0', async () => {
    expect(await probeCommand(cmd('true'), 2000)).toMatchObject({ ok: true, detail: 'exit 0' });
  });

  it('fails on another exit code with the last non-empty line of output', async () => {
    const r = await probeCommand(cmd('echo first; echo "not ready yet" >&2; echo "   "; exit 3'), 2000);
    expect(r).toMatchObject({ ok: false, detail: 'exit 3: not ready yet' });
    expect(await probeCommand(cmd('exit 1'), 2000)).toMatchObject({ ok: false, detail: 'exit 1' });
  });

  it('keeps at most 200 characters of that line', async () => {
    const r = await probeCommand(cmd(`printf '%0300d\\n' 0; exit 2`), 2000);
    expect(r.detail.startsWith('exit 2: 0000')).toBe(true);
    expect(r.detail.length).toBe('exit 2: '.length + 200);
  });

  it('runs in cwd with env added to the environment', async () => {
    writeFileSync(path.join(dir, 'ready'), '');
    const r = await probeCommand(cmd('test -f ready && [ "$CHECK_VAR" = yes ] && command -v sleep >/dev/null', { cwd: dir, env: { CHECK_VAR: 'yes' } }), 2000);
    expect(r).toMatchObject({ ok: true, detail: 'exit 0' });
    expect((await probeCommand(cmd('test -f ready'), 2000)).ok).toBe(false);
  });

  it('kills the command and its children at the attempt timeout', async () => {
    const pidfile = path.join(dir, 'pid');
    const t0 = performance.now();
    const r = await probeCommand(cmd(`sleep 30 & echo $! > "${pidfile}"; wait`), 300);
    expect(r).toMatchObject({ ok: false, detail: 'timed out after 300 ms' });
    expect(performance.now() - t0).toBeLessThan(2000);
    const pid = Number(readFileSync(pidfile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(await until(() => isGone(pid))).toBe(true);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    const started = path.join(dir, 'started');
    const running = probeCommand(cmd(`touch "${started}"; sleep 30`), 10_000, ac.signal);
    expect(await until(() => existsSync(started))).toBe(true);
    ac.abort();
    expect(await running).toMatchObject({ ok: false, detail: 'aborted' });
  });

  it('reports a command that cannot start', async () => {
    const r = await probeCommand(cmd('true', { cwd: path.join(dir, 'missing') }), 2000);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^could not start: /);
  });
});
