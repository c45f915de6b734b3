// The `command` provider: a shell command printing the value on its last non-empty stdout line;
// and runShellCommand, which runs it on this machine.
import type { MetricConfig } from '../manifest/schema/analysis.js';
import { describeExit, runProcess } from '../util/process.js';
import { tail } from './format.js';
import type { AnalysisDeps, CommandOptions, CommandResult, Measurement, Subject } from './types.js';

/** The environment a metric command gets: the manifest's, then what it measures. */
export function commandEnv(deps: Pick<AnalysisDeps, 'env'>, app: string, subject: Subject, intervalMs: number): Record<string, string> {
  return { ...deps.env, DEPLOY_APP: app, DEPLOY_POOL: subject.pool, DEPLOY_RELEASE: subject.release, DEPLOY_ANALYSIS_INTERVAL_MS: String(Math.round(intervalMs)) };
}

/** The last non-empty line of `stdout` as a finite number, or null. */
export function lastNumber(stdout: string): { line: string; value: number | null } {
  const line =
    stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .pop() ?? '';
  const value = line === '' ? null : Number(line);
  return { line, value: value !== null && Number.isFinite(value) ? value : null };
}

export async function measureCommand(metric: MetricConfig, deps: AnalysisDeps, app: string, subject: Subject, intervalMs: number): Promise<Measurement> {
  if (!metric.command) return { ok: false, reason: 'no command configured' };
  let r;
  try {
    r = await deps.runCommand(metric.command, { env: commandEnv(deps, app, subject, intervalMs), timeoutMs: metric.timeout, ...(deps.cwd !== undefined ? { cwd: deps.cwd } : {}) });
  } catch (e) {
    return { ok: false, reason: `command could not run: ${(e as Error).message}` };
  }
  const err = tail(r.stderr);
  if (r.code !== 0) {
    const how = r.code === null ? 'did not complete' : `exited with status ${r.code}`;
    return { ok: false, reason: `command ${how}${err ? `: ${err}` : ''}` };
  }
  const { line, value } = lastNumber(r.stdout);
  if (value === null) {
    const got = line === '' ? 'printed nothing' : `printed ${JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line)} last, not a number`;
    return { ok: false, reason: `command ${got}${err ? ` (stderr: ${err})` : ''}` };
  }
  return { ok: true, value };
}

/**
 * Runs `sh -c command` with `opts.env` laid over this process's environment (so PATH stays),
 * in its own process group: the timeout kills the shell and everything it started. A command
 * that could not start or was killed gets code null and says so on its stderr's last line.
 * Never rejects.
 */
export async function runShellCommand(command: string, opts: CommandOptions): Promise<CommandResult> {
  const r = await runProcess(['sh', '-c', command], {
    env: { ...process.env, ...opts.env },
    timeoutMs: opts.timeoutMs,
    killGraceMs: 1000,
    maxBuffer: 256 * 1024,
    ...(opts.cwd !== undefined ? { cwd: opts.cwd } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  if (r.code === 0 && !r.timedOut) return { code: 0, stdout: r.stdout, stderr: r.stderr };
  const failed = r.spawnError !== undefined || r.timedOut || r.code === null;
  const stderr = failed ? `${r.stderr}${r.stderr.endsWith('\n') || r.stderr === '' ? '' : '\n'}${describeExit(r, opts.timeoutMs)}\n` : r.stderr;
  return { code: failed ? null : r.code, stdout: r.stdout, stderr };
}
