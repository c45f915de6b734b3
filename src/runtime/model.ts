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

// shared with every router adapter (the canary analysis reads them from any router)
import type { PoolTraffic, RouteRule, TrafficMetrics } from '../routers/types.js';
export type { LatencyHistogram, PoolSamples, PoolTraffic, RouteRule, StatusCounts, TrafficMetrics } from '../routers/types.js';

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
  /** the release the instance runs (a Prometheus label) */
  release?: string;
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
  /** null: the router health-checks the app's targets but serves no port for it (another router does) */
  listen: { host: string; port: number } | null;
  /** Host header names (without port) routed to this app; empty: the default app of its listener */
  hostnames: string[];
  pools: RouterPool[];
  health: RouterHealth;
  /** cookie that keeps a client on one pool while weights are split; null: none */
  stickyCookie: string | null;
  drainTimeoutMs: number;
  /** how long a request waits for a target when none is available before a 503 */
  unavailableWaitMs: number;
  /** header/cookie routes, first match wins (absent or empty: none, and no per-request cost) */
  routes?: RouteRule[];
  /**
   * address blocks (CIDR) of proxies in front of the router whose forwarding headers are kept
   * (X-Forwarded-For appended to); absent or empty: the router sets them from what it sees
   */
  trustedProxies?: string[];
  /** bounds on client connections (absent: the router's defaults) */
  limits?: RouterLimits;
}

/** The router's bounds on client connections and what they hold (router.* in the manifest). */
export interface RouterLimits {
  /** no write to the client completes for this long: it is closed, its upstream connection freed */
  sendTimeoutMs: number;
  /** no request body byte comes for this long: 408 (or a close once the response began) */
  bodyTimeoutMs: number;
  /** an upgraded (WebSocket) connection with no byte either way for this long is closed */
  tunnelIdleTimeoutMs: number;
  /** open client connections of a listener, upgraded ones included; more are closed at accept */
  maxConnections: number;
  /** the same, from one client address */
  maxConnectionsPerClient: number;
  /** bytes held by unfinished request heads across a listener's connections; a head past it gets 431 */
  maxHeadMemory: number;
}

export interface TargetView {
  id: string;
  pool: string;
  port: number;
  state: TargetState;
  inFlight: number;
  lastError: string | null;
  release?: string;
}

export interface RouterAppView {
  name: string;
  listen: { host: string; port: number } | null;
  pools: { name: string; weight: number; targets: TargetView[] }[];
}

export interface AppMetrics {
  app: string;
  pools: Record<string, TrafficMetrics & { targets: Record<string, TrafficMetrics> }>;
}

// ---- canary analysis and routing ----

export interface AppTraffic {
  app: string;
  pools: Record<string, PoolTraffic>;
}
