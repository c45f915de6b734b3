// Per pool and per target traffic counters: plain array increments on the hot path, turned into
// the shared AppMetrics shape (or Prometheus text, see prometheus.ts) only when asked.
import type { StatusCounts, TrafficMetrics } from '../model.js';

/** Latency histogram upper bounds in ms; the last bucket (+Inf) is implicit. */
export const BOUNDS_MS: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];

/** Index of the `errors` slot in Traffic.counts (router-generated 502/503/504). */
export const CLASS_ERROR = 5;
export const CLASS_NAMES = ['1xx', '2xx', '3xx', '4xx', '5xx', 'errors'] as const;

/** Slot for an upstream status: 0 for 1xx ... 4 for 5xx (anything out of range counts as 5xx). */
export function statusClass(status: number): number {
  return status >= 100 && status < 600 ? ((status / 100) | 0) - 1 : 4;
}

export class Traffic {
  /** 1xx, 2xx, 3xx, 4xx, 5xx, errors */
  readonly counts: number[] = [0, 0, 0, 0, 0, 0];
  /** per bucket, not cumulative; length BOUNDS_MS.length + 1 */
  readonly buckets: number[] = new Array<number>(BOUNDS_MS.length + 1).fill(0);
  sumMs = 0;
  count = 0;

  record(cls: number, ms: number): void {
    this.counts[cls]!++;
    let i = 0;
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]!) i++;
    this.buckets[i]!++;
    this.sumMs += ms;
    this.count++;
  }

  toJSON(): TrafficMetrics {
    const c = this.counts;
    const requests: StatusCounts = { '1xx': c[0]!, '2xx': c[1]!, '3xx': c[2]!, '4xx': c[3]!, '5xx': c[4]!, errors: c[5]! };
    return { requests, latency: { boundsMs: [...BOUNDS_MS], counts: [...this.buckets], sumMs: this.sumMs, count: this.count } };
  }
}
