import { spawn } from 'node:child_process';
import { LineSplitter } from './line-splitter.js';

export interface RunOptions {
  cwd?: string;
  /** the whole environment of the child (not merged with process.env) */
  env?: NodeJS.ProcessEnv;
  /** kill the whole process group after this many ms */
  timeoutMs?: number;
  /** time between SIGTERM and SIGKILL when the timeout fires */
  killGraceMs?: number;
  /** called for each line of output as it arrives (a `\r` starts a line over; a long one is cut: see LineSplitter) */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  input?: string | Buffer;
  /** keep at most this many bytes of each stream (the tail); default 1 MiB */
  maxBuffer?: number;
  signal?: AbortSignal;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
  /** set when the program could not be started at all (ENOENT, EACCES) */
  spawnError?: Error;
}

/**
 * Runs argv (never through a shell) in its own process group, so a timeout kills the program
 * and everything it started. Never rejects: the caller decides what a failure means.
 */
export function runProcess(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('runProcess: empty argv');
  const started = performance.now();
  const maxBuffer = opts.maxBuffer ?? 1024 * 1024;
  if (opts.signal?.aborted) {
    // an abort that came before the start must not be missed (its event has already fired)
    return Promise.resolve({ code: null, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 0, spawnError: new Error(`not started: ${String(opts.signal.reason ?? 'aborted')}`) });
  }
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out = new Tail(maxBuffer);
    const err = new Tail(maxBuffer);
    const lines = { stdout: new LineSplitter(), stderr: new LineSplitter() };
    let timedOut = false;
    let spawnError: Error | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    const killGroup = (sig: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const terminate = () => {
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 2000);
      killTimer.unref();
    };
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            terminate();
          }, opts.timeoutMs)
        : undefined;
    const onAbort = () => terminate();
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const feed = (stream: 'stdout' | 'stderr', tail: Tail) => (chunk: Buffer) => {
      tail.push(chunk);
      if (opts.onLine) for (const line of lines[stream].push(chunk)) opts.onLine(line, stream);
    };
    child.stdout!.on('data', feed('stdout', out));
    child.stderr!.on('data', feed('stderr', err));
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {});
      child.stdin!.end(opts.input);
    }
    child.on('error', (e) => {
      spawnError = e;
    });
    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null) => {
      if (finished) return;
      finished = true;
      if (timer) clearTimeout(timer);
      if (killTimer && !timedOut && !opts.signal?.aborted) clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      // the group may still hold stragglers that closed their stdio; a timeout reaps them too
      if (timedOut) killGroup('SIGKILL');
      if (opts.onLine) {
        for (const s of ['stdout', 'stderr'] as const) {
          const rest = lines[s].flush();
          if (rest !== undefined) opts.onLine(rest, s);
        }
      }
      resolve({
        code,
        signal,
        stdout: out.text(),
        stderr: err.text(),
        timedOut,
        durationMs: performance.now() - started,
        ...(spawnError ? { spawnError } : {}),
      });
    };
    child.on('close', finish);
    // A program that started a daemon without redirecting its output has exited, but the daemon
    // still holds our pipes, so 'close' would wait for the daemon. Its exit is what counts: read
    // what is left for a moment, then stop reading.
    child.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      const grace = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }, STDIO_GRACE_MS);
      grace.unref();
      child.once('close', () => clearTimeout(grace));
    });
  });
}

/** How long output is still read after the program exited (see the 'exit' handler). */
const STDIO_GRACE_MS = 500;

/** Keeps the last `max` bytes written. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(b: Buffer) {
    this.chunks.push(b);
    this.size += b.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    return all.subarray(Math.max(0, all.length - this.max)).toString('utf8');
  }
}

/** A one-line description of how a process ended, for error messages. */
export function describeExit(r: RunResult, timeoutMs?: number): string {
  if (r.spawnError) return `could not start: ${r.spawnError.message}`;
  if (r.timedOut) return `timed out after ${timeoutMs ?? '?'} ms and was killed`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exited with status ${r.code}`;
}
