// The Router interface: what strategies need from whatever splits traffic between pools
// (Deployer's embedded router, nginx, HAProxy, or nothing). No router's internals appear here;
// one file per adapter implements it (embedded.ts, nginx.ts, haproxy.ts, none.ts).

import type { Transport } from '../hosts/transport.js';
import type { Clock } from '../util/clock.js';

/** One instance as a router sees it: where to send requests. `id` is the instance id (`blue-0`). */
export interface RouteTarget {
  id: string;
  host: string;
  port: number;
  /** the release the instance runs (labels, status) */
  release?: string;
}

/** A pool and the targets in it. */
export interface PoolTargets {
  name: string;
  targets: RouteTarget[];
}

/**
 * Sends matching requests to a pool whatever the weights (testers, A/B splits): a header (or a
 * cookie) present, with `value` when given. Ignored while the pool has no healthy target.
 */
export interface RouteRule {
  /** header name, lower case */
  header?: string;
  cookie?: string;
  /** exact value to match; absent: any value */
  value?: string;
  pool: string;
}

/** What a router can carry; a planner refuses a strategy that needs more, before anything changes. */
export interface RouterCapabilities {
  /** traffic split between pools by any percentage (canary); without it only 0/100 switches */
  weights: boolean;
  /** header/cookie routes (RouteRule) */
  routes: boolean;
  /** one target out of rotation with its in-flight requests finishing, and back (rolling) */
  drain: boolean;
  /** per-pool request and error counts (canary analysis, provider: router) */
  counts: boolean;
  /** per-pool latencies (histogram and/or samples) */
  latency: boolean;
}

/** A target's state in the router: in rotation, draining (no new requests), or out (maintenance/down). */
export type LiveTargetState = 'ready' | 'draining' | 'down';

export interface LiveTarget extends RouteTarget {
  state: LiveTargetState;
  /** the router's own health verdict, where it checks (null: it does not say) */
  health: 'healthy' | 'unhealthy' | 'unknown' | null;
}

export interface LivePool {
  name: string;
  /** percent of new traffic, 0-100 */
  weight: number;
  targets: LiveTarget[];
}

/** What the router serves now, read back from the router itself (not from what Deployer meant to set). */
export interface LiveRouting {
  pools: LivePool[];
  routes: RouteRule[];
  /** where it listens / what it is, for status and doctor: "127.0.0.1:8080", "nginx upstream shop" */
  where: string;
}

// ---- traffic counters for the canary analysis (cumulative; the analysis takes deltas) ----

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

/** The most recent request latencies of a pool, for judges that compare distributions. */
export interface PoolSamples {
  /** requests sampled since the counters began (the sequence number of the newest sample) */
  seq: number;
  /** the newest min(seq, capacity) latencies, oldest first: samples seq-len+1 ... seq */
  latencyMs: number[];
}

/** One pool's cumulative counters and recent samples, read in one go so they agree. */
export interface PoolTraffic extends TrafficMetrics {
  samples: PoolSamples;
}

/** A step's router action as `--dry-run` prints it (the weights, the file written, the reload). */
export interface RouterActionPreview {
  lines: string[];
}

/**
 * One change a step makes to the router, as `preview` takes it. `add_targets` / `remove_targets`
 * are what starting or stopping instances comes to (the pool is declared again with them in or
 * out); the others are one call each (setWeights, setRoutes, drain, enable).
 */
export type RouterAction =
  | { kind: 'add_targets'; pool: string; targets: RouteTarget[] }
  | { kind: 'remove_targets'; ids: string[] }
  | { kind: 'weights'; weights: Record<string, number> }
  | { kind: 'routes'; routes: RouteRule[] }
  | { kind: 'drain'; id: string }
  | { kind: 'enable'; id: string };

/**
 * The router of one app on one host. Every method is safe to repeat (a resumed or undone step
 * calls it again). Methods a router cannot carry (see `capabilities`) throw a RouterError.
 */
export interface Router {
  readonly kind: 'embedded' | 'nginx' | 'haproxy' | 'none';
  readonly capabilities: RouterCapabilities;
  /**
   * Makes the named pools hold exactly these targets (pools not named are left as they are; an
   * empty list removes the pool). A pool new to the router gets weight 0; a new target in a pool
   * that has traffic starts `down` until `enable`.
   */
  declarePools(pools: PoolTargets[]): Promise<void>;
  /** Every pool's share of new traffic, in one update (pools left out get 0). Percentages summing to 100. */
  setWeights(weights: Record<string, number>): Promise<void>;
  /** Replaces the header/cookie routes (empty: none). */
  setRoutes(routes: RouteRule[]): Promise<void>;
  /** Takes a target out of rotation and resolves once its in-flight requests are done (or timeoutMs passed). */
  drain(targetId: string, timeoutMs: number): Promise<void>;
  /** Puts a target back into rotation. */
  enable(targetId: string): Promise<void>;
  /** What is live now; null when the router has nothing for this app. */
  live(): Promise<LiveRouting | null>;
  /** Cumulative per-pool counters (capabilities.counts); counters that go down mean the router restarted. */
  traffic?(): Promise<Record<string, PoolTraffic>>;
  /**
   * Writes the file Deployer owns in the user's proxy (nginx's upstream file, HAProxy's backend
   * file) with nothing in rotation, when it does not exist yet, so the proxy can load its
   * configuration before the first deploy (`deployer router init`). Reloads nothing.
   */
  init?(): Promise<{ file: string; written: boolean }>;
  /**
   * What these changes, made one after the other, would do (for --dry-run): the current state is
   * read (the file; HAProxy's servers), each change applies to what the ones before it left, and
   * nothing is changed. One preview per action; a change the router would refuse previews as
   * `would fail: <message>` and leaves the state as it was.
   */
  preview?(actions: RouterAction[]): Promise<RouterActionPreview[]>;
}

/** What every adapter is built with: the host it acts on, the app, the clock. */
export interface RouterDeps {
  transport: Transport;
  app: string;
  clock: Clock;
}
