import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { findByName, probeProcess } from './process.js';
import { isGone, until } from './test-support.js';

const children: ChildProcess[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const c of children.splice(0)) {
    if (c.exitCode === null && c.signalCode === null) {
      process.kill(c.pid!, 'SIGKILL');
      await new Promise((r) => c.once('exit', r));
    }
  }
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function start(cmd: string, args: string[]): ChildProcess {
  const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  children.push(c);
  return c;
}
function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'deployer-checks-'));
  dirs.push(d);
  return d;
}
async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.once('exit', r));
  return c.pid!;
}
const stateOf = (pid: number) => {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(')') + 1).trim()[0];
  } catch {
    return undefined;
  }
};

describe('probeProcess by pid', () => {
  it('passes for a running pid', async () => {
    expect(await probeProcess({ type: 'process', pid: process.pid })).toMatchObject({ ok: true, detail: `pid ${process.pid} is running` });
  });

  it('fails for a pid that has exited', async () => {
    const pid = await deadPid();
    expect(await probeProcess({ type: 'process', pid })).toMatchObject({ ok: false, detail: `pid ${pid} is not running` });
  });

  it('counts a pid that is not ours as running (EPERM)', async () => {
    // as root every pid can be signalled, so stand in for the kernel's answer
    const kill = vi.spyOn(process, 'kill').mockImplementation(() => {
      throw Object.assign(new Error('kill EPERM'), { code: 'EPERM' });
    });
    try {
      expect(await probeProcess({ type: 'process', pid: process.pid })).toMatchObject({ ok: true });
      expect(kill).toHaveBeenCalledWith(process.pid, 0);
    } finally {
      kill.mockRestore();
    }
  });

  it('rejects pids that would address a process group', async () => {
    expect(await probeProcess({ type: 'process', pid: 0 })).toMatchObject({ ok: false, detail: 'invalid pid 0' });
    expect((await probeProcess({ type: 'process', pid: -1 })).ok).toBe(false);
  });

  it('with a name too, checks that the pid has that name', async () => {
    const child = start('sleep', ['30']);
    expect(await until(() => findByName('/proc', 'sleep').then((p) => p.includes(child.pid!)))).toBe(true);
    expect((await probeProcess({ type: 'process', pid: child.pid!, name: 'sleep' })).ok).toBe(true);
    expect(await probeProcess({ type: 'process', pid: child.pid!, name: 'nginx' })).toMatchObject({
      ok: false,
      detail: `pid ${child.pid} is running but is not named "nginx"`,
    });
  });
});

describe('probeProcess by name', () => {
  it('finds a running child by its exact name, and not after it ends', async () => {
    const dir = tempDir();
    symlinkSync('/bin/sleep', path.join(dir, 'dplchk-sleeper'));
    const child = start(path.join(dir, 'dplchk-sleeper'), ['30']);
    expect(await until(async () => (await probeProcess({ type: 'process', name: 'dplchk-sleeper' })).ok)).toBe(true);
    expect((await probeProcess({ type: 'process', name: 'dplchk-sleeper' })).detail).toBe(
      `process named "dplchk-sleeper" is running (pid ${child.pid})`,
    );
    expect((await probeProcess({ type: 'process', name: 'dplchk-sleepe' })).ok).toBe(false); // exact, not prefix
    process.kill(child.pid!, 'SIGKILL');
    await new Promise((r) => child.once('exit', r));
    expect(await probeProcess({ type: 'process', name: 'dplchk-sleeper' })).toMatchObject({
      ok: false,
      detail: 'no process named "dplchk-sleeper"',
    });
  });

  it('matches names longer than 15 characters through argv[0]', async () => {
    const dir = tempDir();
    const long = 'deployer-check-long-name';
    symlinkSync('/bin/sleep', path.join(dir, long));
    const child = start(path.join(dir, long), ['30']);
    expect(await until(async () => (await findByName('/proc', long)).includes(child.pid!))).toBe(true);
    expect(readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim()).toBe(long.slice(0, 15));
    expect((await findByName('/proc', `${long}-other`)).includes(child.pid!)).toBe(false);
  });

  it('ignores zombies', async () => {
    const dir = tempDir();
    symlinkSync('/bin/true', path.join(dir, 'dplchk-zombie'));
    // sh starts the short-lived program, then becomes `sleep`, which never reaps it; the program
    // exits only once its parent is `sleep` (in the subshell $$ is the parent's pid), so sh
    // cannot reap it before the exec
    const parent = start('sh', ['-c', `( while [ "$(cat /proc/$$/comm)" != sleep ]; do sleep 0.02; done; exec "${dir}/dplchk-zombie" ) & echo $!; exec sleep 30`]);
    const out = await new Promise<string>((r) => parent.stdout!.once('data', (b: Buffer) => r(b.toString())));
    const zombie = Number(out.trim());
    expect(await until(() => stateOf(zombie) === 'Z')).toBe(true);
    expect(await findByName('/proc', 'dplchk-zombie')).toEqual([]);
    expect(await probeProcess({ type: 'process', pid: zombie })).toMatchObject({ ok: false, detail: `pid ${zombie} is not running` });
    expect(isGone(zombie)).toBe(true);
  });

  it('fails without a pid or a name, and when /proc cannot be read', async () => {
    expect((await probeProcess({ type: 'process' })).detail).toBe('process check needs a pid or a name');
    const r = await probeProcess({ type: 'process', name: 'x' }, '/nonexistent-proc');
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/^cannot list processes in \/nonexistent-proc/);
  });
});
