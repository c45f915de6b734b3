// The `router` provider: one pool's traffic between two snapshots of the embedded router's
// cumulative counters, and the metrics computed from it.
import { ROUTER_METRICS } from '../manifest/router-metrics.js';
import type { PoolTraffic, StatusCounts } from '../routers/types.js';
import { histogramQuantile, quantile } from './quantile.js';

export type RouterMetric = (typeof ROUTER_METRICS)[number];

/** One pool's traffic in one interval. */
export interface PoolWindow {
  requests: number;
  /** 5xx answers plus requests no target answered */
  failed: number;
  durationMs: number;
  latencySumMs: number;
  latencyCount: number;
  boundsMs: number[];
  /** histogram counts per bucket in the interval */
  buckets: number[];
  /** latencies of the requests of the interval (the newest ones when the ring held fewer), oldest first */
  samples: number[];
}

const total = (r: StatusCounts) => r['1xx'] + r['2xx'] + r['3xx'] + r['4xx'] + r['5xx'] + r.errors;

/** Whether `end` cannot follow `start` (the router restarted and its counters began again). */
function restarted(start: PoolTraffic, end: PoolTraffic): boolean {
  const keys = Object.keys(end.requests) as (keyof StatusCounts)[];
  return keys.some((k) => end.requests[k] < start.requests[k]) || end.latency.count < start.latency.count || end.samples.seq < start.samples.seq;
}

/**
 * The traffic of a pool between two snapshots. A pool absent from a snapshot has had no traffic;
 * counters that went down mean the router restarted, and then everything in `end` is new.
 */
export function poolWindow(start: PoolTraffic | undefined, end: PoolTraffic | undefined, durationMs: number): PoolWindow {
  const empty: PoolWindow = { requests: 0, failed: 0, durationMs, latencySumMs: 0, latencyCount: 0, boundsMs: [], buckets: [], samples: [] };
  if (!end) return empty;
  const from = start && !restarted(start, end) ? start : undefined;
  const d = (a: number, b: number | undefined) => a - (b ?? 0);
  const sameBounds = from !== undefined && from.latency.boundsMs.join() === end.latency.boundsMs.join();
  const inInterval = d(end.samples.seq, from?.samples.seq);
  const ring = end.samples.latencyMs;
  return {
    requests: d(total(end.requests), from && total(from.requests)),
    failed: d(end.requests['5xx'] + end.requests.errors, from && from.requests['5xx'] + from.requests.errors),
    durationMs,
    latencySumMs: d(end.latency.sumMs, from?.latency.sumMs),
    latencyCount: d(end.latency.count, from?.latency.count),
    boundsMs: [...end.latency.boundsMs],
    buckets: end.latency.counts.map((c, i) => c - (sameBounds ? (from.latency.counts[i] ?? 0) : 0)),
    samples: inInterval > 0 ? ring.slice(Math.max(0, ring.length - inInterval)) : [],
  };
}

export function isRouterMetric(name: string): name is RouterMetric {
  return (ROUTER_METRICS as readonly string[]).includes(name);
}

/** Whether a router metric is a latency (the ones mann-whitney can judge). */
export function isLatencyMetric(name: string): boolean {
  return isRouterMetric(name) && name.startsWith('latency_');
}

/** A latency quantile of the window: from its samples, or from its histogram when it has none. */
export function windowQuantile(w: PoolWindow, q: number): number | null {
  if (w.samples.length > 0) return quantile(w.samples, q);
  return histogramQuantile(w.boundsMs, w.buckets, q);
}

/** The value of a router metric over the window; null when it has no data (no requests). */
export function routerValue(name: RouterMetric, w: PoolWindow): number | null {
  switch (name) {
    case 'request_count':
      return w.requests;
    case 'request_rate':
      return w.durationMs > 0 ? w.requests / (w.durationMs / 1000) : null;
    case 'error_rate':
      return w.requests > 0 ? (w.failed * 100) / w.requests : null;
    case 'success_rate':
      return w.requests > 0 ? ((w.requests - w.failed) * 100) / w.requests : null;
    case 'latency_mean_ms':
      return w.latencyCount > 0 ? w.latencySumMs / w.latencyCount : null;
    case 'latency_p50_ms':
      return windowQuantile(w, 0.5);
    case 'latency_p90_ms':
      return windowQuantile(w, 0.9);
    case 'latency_p95_ms':
      return windowQuantile(w, 0.95);
    case 'latency_p99_ms':
      return windowQuantile(w, 0.99);
  }
}
