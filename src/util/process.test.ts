import { describe, expect, it } from 'vitest';
import { runProcess } from './process.js';

describe('runProcess', () => {
  it('returns when the program exits, even if a daemon it started holds the output pipes', async () => {
    const started = Date.now();
    const r = await runProcess(['sh', '-c', 'setsid sleep 10 & echo $! ; echo started'], { timeoutMs: 5000 });
    expect(r.code).toBe(0);
    expect(r.timedOut).toBe(false);
    expect(r.stdout).toContain('started');
    expect(Date.now() - started).toBeLessThan(4000);
    // the daemon was not ours to kill: it is still running; stop it now
    const pid = Number(r.stdout.split('\n')[0]);
    expect(() => process.kill(pid, 0)).not.toThrow();
    process.kill(pid, 'SIGKILL');
  });

  it('kills the whole process group when the timeout passes', async () => {
    const r = await runProcess(['sh', '-c', 'sleep 30; echo never'], { timeoutMs: 300, killGraceMs: 200 });
    expect(r.timedOut).toBe(true);
    expect(r.stdout).not.toContain('never');
  });

  it('does not start at all when the abort came first', async () => {
    const ac = new AbortController();
    ac.abort('SIGINT');
    const r = await runProcess(['sh', '-c', 'echo ran'], { signal: ac.signal });
    expect(r.spawnError?.message).toContain('not started: SIGINT');
    expect(r.stdout).toBe('');
  });

  it('passes output lines as they come, and the tail of each stream', async () => {
    const lines: string[] = [];
    const r = await runProcess(['sh', '-c', 'echo one; echo two >&2; printf three'], { onLine: (l, s) => lines.push(`${s}:${l}`) });
    expect(lines.sort()).toEqual(['stderr:two', 'stdout:one', 'stdout:three']);
    expect(r.stdout).toBe('one\nthree');
    expect(r.stderr).toBe('two\n');
  });
});
