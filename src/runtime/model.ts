// The shapes the runtime's three parts agree on: the daemon (desired state, control API), the
// supervisor (app processes, in the daemon) and the router (its own process, so a killed daemon
// never drops a request). Types only.

/** One app process the supervisor runs. */
export interface InstanceSpec {
  app: string;
  /** unique within the app: `<pool>-<index>`, e.g. `blue-0` */
  id: string;
  pool: string;
  port: number;
  release: string;
  /** working directory: the release directory */
  dir: string;
  /** run with `/bin/sh -c` */
  command: string;
  /** extra environment (PORT is added by the supervisor) */
  env: Record<string, string>;
  stopTimeoutMs: number;
  /** stdout and stderr are appended here (rotated by size) */
  logFile: string;
  /**
   * the path the router checks this instance on (null: TCP connect; absent: the app's). Per
   * instance, so a deploy that changes it never takes the running release out of service.
   */
  healthPath?: string | null;
}

export type InstanceRunState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed';

export interface InstanceStatus {
  app: string;
  id: string;
  pool: string;
  port: number;
  release: string;
  pid: number | null;
  state: InstanceRunState;
  restarts: number;
  startedAt: number | null;
  lastExit: { code: number | null; signal: string | null; at: number } | null;
}

/** What the daemon persists per instance to find a process again after it restarts. */
export interface ProcessRecord {
  pid: number;
  /** /proc start time, so a reused pid is not mistaken for ours */
  start?: string;
}

// ---- router ----

export type TargetState = 'unknown' | 'healthy' | 'unhealthy' | 'draining' | 'disabled';

export interface RouterTarget {
  /** instance id */
  id: string;
  host: string;
  port: number;
  /** state to start from when the router first sees this target (e.g. after a router restart) */
  initial?: 'healthy' | 'unknown';
  /** this target's health check path (null: TCP connect); absent: the app's health.path */
  healthPath?: string | null;
}

export interface RouterPool {
  name: string;
  /** relative share of new traffic; 0 = none */
  weight: number;
  targets: RouterTarget[];
}

export interface RouterHealth {
  /** HTTP path to GET on each target; null: a TCP connect is the check */
  path: string | null;
  intervalMs: number;
  timeoutMs: number;
  /** consecutive failures before a healthy target is taken out */
  unhealthyThreshold: number;
  /** consecutive successes before an unhealthy target is put back */
  healthyThreshold: number;
}

export interface RouterApp {
  name: string;
  listen: { host: string; port: number };
  /** Host header names (without port) routed to this app; empty: the default app of its listener */
  hostnames: string[];
  pools: RouterPool[];
  health: RouterHealth;
  /** cookie that keeps a client on one pool while weights are split; null: none */
  stickyCookie: string | null;
  drainTimeoutMs: number;
  /** how long a request waits for a target when none is available before a 503 */
  unavailableWaitMs: number;
}

export interface TargetView {
  id: string;
  pool: string;
  port: number;
  state: TargetState;
  inFlight: number;
  lastError: string | null;
}

export interface RouterAppView {
  name: string;
  listen: { host: string; port: number };
  pools: { name: string; weight: number; targets: TargetView[] }[];
}

export interface StatusCounts {
  '1xx': number;
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  /** requests that got no response from a target (the router answered 502/503/504) */
  errors: number;
}

export interface LatencyHistogram {
  /** upper bounds in milliseconds, ascending; the last bucket is +Inf (not listed) */
  boundsMs: number[];
  /** counts per bucket (not cumulative), length boundsMs.length + 1 */
  counts: number[];
  sumMs: number;
  count: number;
}

export interface TrafficMetrics {
  requests: StatusCounts;
  latency: LatencyHistogram;
}

export interface AppMetrics {
  app: string;
  pools: Record<string, TrafficMetrics & { targets: Record<string, TrafficMetrics> }>;
}
