// The public shapes of canary analysis: what it reads (deps), whom it measures (subjects) and
// what it returns (one result per metric and per interval). Types only.
import type { PoolTraffic } from '../routers/types.js';

/** One side of the comparison: a router pool and the release it runs. */
export interface Subject {
  pool: string;
  release: string;
}

/** The embedded router's cumulative per-pool counters and recent latency samples. */
export interface RouterSource {
  snapshot(): Promise<Record<string, PoolTraffic>>;
}

export interface CommandOptions {
  /** the command's extra environment (see runShellCommand for what it is laid over) */
  env: Record<string, string>;
  timeoutMs: number;
  cwd?: string;
  /** stops the command (and what it started) early, say when the canary was aborted */
  signal?: AbortSignal;
}

export interface CommandResult {
  /** null: killed (say by the timeout) */
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AnalysisDeps {
  router: RouterSource;
  /** global fetch in production */
  fetch: typeof fetch;
  runCommand(command: string, opts: CommandOptions): Promise<CommandResult>;
  /** milliseconds since the epoch (injected clock) */
  now(): number;
  /** the manifest's environment, passed to commands */
  env: Record<string, string>;
  /** where commands run (the release directory) */
  cwd?: string;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface MetricResult {
  name: string;
  provider: string;
  judge: string;
  /** the canary's value in the interval; null when it could not be measured */
  canary: number | null;
  /** the baseline's value, when it was measured */
  baseline: number | null;
  verdict: Verdict;
  /** one line a human reads, e.g. "error_rate 20.3% > max 1" */
  reason: string;
  /** mann-whitney: the latency samples compared on each side */
  samples?: { canary: number; baseline: number };
  /** mann-whitney: the one-sided p-value */
  p?: number;
}

export interface IntervalResult {
  /** 1 for the first interval */
  index: number;
  /** ISO time of the interval's end */
  at: string;
  durationMs: number;
  /** the canary pool's requests in the interval (0 when the router could not be read) */
  canaryRequests: number;
  /** the baseline pool's requests; null without a baseline (or when the router could not be read) */
  baselineRequests: number | null;
  verdict: Verdict;
  metrics: MetricResult[];
}

/** What a provider measured for one subject: a finite number, or why there is none. */
export type Measurement = { ok: true; value: number } | { ok: false; reason: string };
