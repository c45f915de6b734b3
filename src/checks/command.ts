import { runProcess } from '../util/process.js';
import type { CheckSpec, ProbeResult } from './types.js';

type CommandSpec = Extract<CheckSpec, { type: 'command' }>;

const MAX_LINE = 200;

/**
 * Runs `sh -c command` in its own process group; passes on exit 0. The attempt timeout kills the
 * whole group (the shell and anything it started). `spec.env` is laid over this process's
 * environment, so a check can add variables without losing PATH. Never rejects.
 */
export async function probeCommand(spec: CommandSpec, attemptTimeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  if (signal?.aborted) return { ok: false, detail: 'aborted', durationMs: 0 };
  let lastLine = '';
  const r = await runProcess(['sh', '-c', spec.command], {
    cwd: spec.cwd,
    env: spec.env ? { ...process.env, ...spec.env } : process.env,
    timeoutMs: attemptTimeoutMs,
    // a health check gets no graceful shutdown: the deadline is what counts
    killGraceMs: 500,
    maxBuffer: 64 * 1024,
    signal,
    onLine: (line) => {
      if (line.trim() !== '') lastLine = line.trim();
    },
  });
  const done = (ok: boolean, detail: string): ProbeResult => ({ ok, detail, durationMs: r.durationMs });
  if (r.spawnError) return done(false, `could not start: ${r.spawnError.message}`);
  if (r.timedOut) return done(false, `timed out after ${attemptTimeoutMs} ms`);
  if (signal?.aborted) return done(false, 'aborted');
  if (r.code === 0) return done(true, 'exit 0');
  const line = lastLine.length > MAX_LINE ? `${lastLine.slice(0, MAX_LINE - 1)}…` : lastLine;
  const what = r.code === null ? `killed by ${r.signal ?? 'a signal'}` : `exit ${r.code}`;
  return done(false, line ? `${what}: ${line}` : what);
}
