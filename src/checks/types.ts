/** A health check with every template filled in, ready to probe. */
export type CheckSpec =
  | {
      type: 'http';
      url: string;
      /** statuses that pass; default [200] */
      expectedStatus: number[];
      /** the body must contain this text, when set */
      bodyContains?: string;
      method?: 'GET' | 'HEAD';
      headers?: Record<string, string>;
    }
  | { type: 'tcp'; host: string; port: number }
  | { type: 'process'; pid?: number; name?: string }
  | { type: 'command'; command: string; cwd?: string; env?: NodeJS.ProcessEnv };

export interface CheckPolicy {
  /** overall deadline: retry until it passes or this much time has gone */
  timeoutMs: number;
  /** pause between attempts */
  intervalMs: number;
  /** limit for one attempt (one HTTP request, one connect, one command run) */
  attemptTimeoutMs: number;
}

export interface ProbeResult {
  ok: boolean;
  /** what was seen: "HTTP 200", "connection refused", "exit 1: <last line of output>" */
  detail: string;
  durationMs: number;
}

export interface AttemptEvent extends ProbeResult {
  check: string;
  attempt: number;
}

export interface CheckOutcome {
  ok: boolean;
  check: string;
  attempts: number;
  /** detail of the last attempt */
  detail: string;
  durationMs: number;
}
