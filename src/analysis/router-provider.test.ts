import { describe, expect, it } from 'vitest';
import type { PoolTraffic } from '../routers/types.js';
import { BOUNDS_MS } from '../runtime/router/metrics.js';
import { histogramQuantile, quantile } from './quantile.js';
import { poolWindow, routerValue, type PoolWindow } from './router-provider.js';
import { Pool } from './test-support.js';

const all = (w: PoolWindow) => ({
  request_count: routerValue('request_count', w),
  request_rate: routerValue('request_rate', w),
  error_rate: routerValue('error_rate', w),
  success_rate: routerValue('success_rate', w),
  latency_mean_ms: routerValue('latency_mean_ms', w),
  latency_p50_ms: routerValue('latency_p50_ms', w),
  latency_p90_ms: routerValue('latency_p90_ms', w),
  latency_p95_ms: routerValue('latency_p95_ms', w),
  latency_p99_ms: routerValue('latency_p99_ms', w),
});

describe('router provider', () => {
  it('computes every metric from the traffic between two snapshots only', () => {
    const p = new Pool();
    for (let i = 0; i < 30; i++) p.record(200, 1000); // before the interval: must not count
    const start = p.snapshot();
    // the interval: 100 requests, latencies 1..100 ms; 5 answered 500, 2 got no answer, 3 were 404
    for (let i = 1; i <= 100; i++) p.record(i <= 5 ? 500 : i <= 7 ? 'error' : i <= 10 ? 404 : 200, i);
    const w = poolWindow(start, p.snapshot(), 20_000);
    expect(w.samples).toHaveLength(100);
    expect(all(w)).toEqual({
      request_count: 100,
      request_rate: 5,
      error_rate: 7, // 5xx and router errors; a 404 is the app's answer, not a failure
      success_rate: 93,
      latency_mean_ms: 50.5,
      latency_p50_ms: 50.5,
      latency_p90_ms: expect.closeTo(90.1, 9),
      latency_p95_ms: expect.closeTo(95.05, 9),
      latency_p99_ms: expect.closeTo(99.01, 9),
    });
  });

  it('has no rates or latencies for an interval without requests, and a pool absent at the start had none before', () => {
    const p = new Pool();
    const empty = poolWindow(p.snapshot(), p.snapshot(), 10_000);
    expect(all(empty)).toEqual({
      request_count: 0,
      request_rate: 0,
      error_rate: null,
      success_rate: null,
      latency_mean_ms: null,
      latency_p50_ms: null,
      latency_p90_ms: null,
      latency_p95_ms: null,
      latency_p99_ms: null,
    });
    expect(routerValue('request_rate', poolWindow(undefined, undefined, 0))).toBeNull();
    p.record(500, 3);
    p.record(200, 5);
    const w = poolWindow(undefined, p.snapshot(), 1000);
    expect([routerValue('request_count', w), routerValue('error_rate', w), routerValue('latency_p50_ms', w)]).toEqual([2, 50, 4]);
  });

  it('takes the newest samples when the interval had more requests than the ring holds', () => {
    const p = new Pool(100);
    for (let i = 0; i < 50; i++) p.record(200, 9999);
    const start = p.snapshot();
    for (let i = 1; i <= 250; i++) p.record(200, i);
    const w = poolWindow(start, p.snapshot(), 1000);
    expect(w.requests).toBe(250);
    expect(w.samples).toEqual(Array.from({ length: 100 }, (_, i) => 151 + i));
    // and only the interval's samples when the ring also holds older ones
    const p2 = new Pool(100);
    for (let i = 0; i < 60; i++) p2.record(200, 9999);
    const s2 = p2.snapshot();
    for (let i = 1; i <= 10; i++) p2.record(200, i);
    expect(poolWindow(s2, p2.snapshot(), 1000).samples).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('falls back to the histogram of the interval when there are no samples', () => {
    const p = new Pool();
    for (let i = 0; i < 10; i++) p.record(200, 800); // before: all in the 500-1000 bucket
    const start = p.snapshot();
    for (let i = 0; i < 80; i++) p.record(200, 3); // (2, 5] bucket
    for (let i = 0; i < 20; i++) p.record(200, 40); // (25, 50] bucket
    const end = p.snapshot();
    const noSamples = (t: PoolTraffic): PoolTraffic => ({ ...t, samples: { seq: 0, latencyMs: [] } });
    const w = poolWindow(noSamples(start), noSamples(end), 1000);
    expect(w.samples).toEqual([]);
    // p50: rank 50 of 80 in (2, 5] -> 2 + 3 * 50/80; p90: rank 90 -> 10 of 20 in (25, 50] -> 37.5
    expect(routerValue('latency_p50_ms', w)).toBeCloseTo(3.875, 9);
    expect(routerValue('latency_p90_ms', w)).toBeCloseTo(37.5, 9);
    expect(routerValue('latency_mean_ms', w)).toBeCloseTo(10.4, 9);
  });

  it('treats counters that went down as a restarted router: everything in the new snapshot is the interval', () => {
    const before = new Pool();
    for (let i = 0; i < 500; i++) before.record(200, 1);
    const restarted = new Pool();
    for (let i = 0; i < 40; i++) restarted.record(i < 10 ? 500 : 200, 2);
    const w = poolWindow(before.snapshot(), restarted.snapshot(), 1000);
    expect([w.requests, routerValue('error_rate', w), w.samples.length]).toEqual([40, 25, 40]);
  });
});

describe('quantiles', () => {
  it('interpolates between the closest ranks of samples', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1, 9);
  });

  it('reads histograms as Prometheus histogram_quantile does', () => {
    // bounds 1, 2, 5 (+Inf): 10 in (0,1], 10 in (1,2], 0 in (2,5], 5 above 5
    const bounds = [1, 2, 5];
    expect(histogramQuantile(bounds, [10, 10, 0, 5], 0.2)).toBeCloseTo(0.5, 9);
    expect(histogramQuantile(bounds, [10, 10, 0, 5], 0.6)).toBeCloseTo(1.5, 9);
    expect(histogramQuantile(bounds, [10, 10, 0, 5], 0.99)).toBe(5); // in +Inf: the highest finite bound
    expect(histogramQuantile(bounds, [0, 0, 0, 0], 0.5)).toBeNull();
    expect(histogramQuantile([...BOUNDS_MS], [0, 0, 4, ...new Array<number>(BOUNDS_MS.length - 2).fill(0)], 0.5)).toBeCloseTo(3.5, 9);
  });
});
