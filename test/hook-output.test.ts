import { spawn } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hooksYaml, readLog, writeManifest } from './support/fixtures.js';
import { BIN } from './support/cli.js';
import { Sandbox } from './support/sandbox.js';

/**
 * Hook output is bounded: a hook printing 100 MB without a newline (a `\r` progress bar, binary
 * output) costs the CLI linear time and bounded memory, a long line is cut with a marker, and a
 * hook that floods its output and then hangs is still killed by its timeout.
 */

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('hook-output');
  await sb.writeApp('v1');
});
afterEach(() => sb.cleanup());

interface Measured {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** the CLI's peak resident set (GNU time's %M), in MiB */
  peakMiB: number;
}

/** Runs the built CLI under GNU time for its peak RSS; killed at `deadlineMs`. */
function measuredDeploy(deadlineMs: number): Promise<Measured> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', 'peak-rss-kb=%M', process.execPath, BIN, 'deploy', '--json'], {
      cwd: sb.dir,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...sb.env() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const kb = Number(/peak-rss-kb=(\d+)/.exec(stderr)?.[1] ?? NaN);
      resolve({ code, stdout, stderr, ms: performance.now() - started, peakMiB: kb / 1024 });
    });
  });
}

const hookLines = (r: Measured, event: string) => {
  const log = JSON.parse(r.stdout.trim().split('\n').pop()!).log as string;
  return readLog(log)
    .filter((e) => e.type === 'log' && e.source === `hook ${event}`)
    .map((e) => String(e.message));
};

describe('bounded hook output', () => {
  it('100 MB of `\\r` without a newline: the deploy succeeds in bounded time and memory, and the line the terminal would show is kept', async () => {
    const flood = "head -c 100000000 /dev/zero | tr '\\0' '\\r'; printf 'progress 50%%\\rprogress 100%%\\n'";
    writeManifest(sb, { extra: hooksYaml({ pre_deploy: [flood] }) });
    const r = await measuredDeploy(45_000);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.ms).toBeLessThan(40_000);
    expect(r.peakMiB).toBeLessThan(150);
    expect(hookLines(r, 'pre_deploy')).toEqual(['progress 100%']);
  });

  it('a 20 MB line is cut at the cap with a marker saying how much was left out', async () => {
    writeManifest(sb, { extra: hooksYaml({ pre_deploy: ["head -c 20000000 /dev/zero | tr '\\0' x; echo; echo after"] }) });
    const r = await measuredDeploy(45_000);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.peakMiB).toBeLessThan(150);
    const [long, after] = hookLines(r, 'pre_deploy');
    expect(long).toMatch(/^x{8192} … \[19991808 more characters cut\]$/);
    expect(after).toBe('after');
  });

  it('a hook printing 40 MB of lines logs its first 4 MiB, then says how much it left out, then its last lines', async () => {
    const line = '0123456789'.repeat(8);
    writeManifest(sb, { extra: hooksYaml({ pre_deploy: [`yes ${line} | head -n 500000; echo the-end`] }) });
    const r = await measuredDeploy(45_000);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    // every line logged took 20 s and a 91 MB log here; the cut, about 2 s
    expect(r.ms).toBeLessThan(10_000);
    const lines = hookLines(r, 'pre_deploy');
    const kept = Math.ceil((4 * 1024 * 1024) / (line.length + 1));
    expect(lines.length).toBe(kept + 1 + 10);
    expect(lines.slice(0, kept).every((l) => l === line)).toBe(true);
    // left out: every line but the logged ones and the last 10 (all copies of `line`)
    const left = 500_001 - kept - 10;
    expect(lines[kept]).toBe(`… ${left} lines (${left * (line.length + 1)} bytes) not logged: past 4 MiB of output; the last 10 lines:`);
    expect(lines.slice(-10)).toEqual([...Array(9).fill(line), 'the-end']);
  });

  it('a hook that floods its output without a newline and then hangs is killed by its timeout', async () => {
    writeManifest(sb, { extra: hooksYaml({ pre_deploy: ["head -c 50000000 /dev/zero | tr '\\0' x; sleep 600"] }, { timeout: '3s' }) });
    const r = await measuredDeploy(45_000);
    expect(r.code, r.stderr.slice(-2000)).toBe(1);
    expect(r.stderr).toMatch(/hook pre_deploy: command ".*" timed out after 3000 ms and was killed/);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.peakMiB).toBeLessThan(150);
  });
});
