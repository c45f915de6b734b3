import { describe, expect, it } from 'vitest';
import { TrafficAccumulator } from './traffic-accumulator.js';

describe('TrafficAccumulator', () => {
  it('counts status classes and router errors per pool, with a latency histogram and samples', () => {
    const a = new TrafficAccumulator();
    a.record({ pool: 'stable', status: 200, latencyMs: 3, noResponse: false });
    a.record({ pool: 'stable', status: 500, latencyMs: 40, noResponse: false });
    a.record({ pool: 'canary', status: 502, latencyMs: 0, noResponse: true });
    const s = a.snapshot(['stable', 'canary', 'blue']);
    expect(s.stable!.requests).toEqual({ '1xx': 0, '2xx': 1, '3xx': 0, '4xx': 0, '5xx': 1, errors: 0 });
    expect(s.canary!.requests).toEqual({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, errors: 1 });
    expect(s.stable!.latency).toMatchObject({ count: 2, sumMs: 43 });
    expect(s.stable!.latency.counts[2]).toBe(1); // 3 ms: bucket (2, 5]
    expect(s.stable!.latency.counts[5]).toBe(1); // 40 ms: bucket (25, 50]
    expect(s.stable!.samples).toEqual({ seq: 2, latencyMs: [3, 40] });
    expect(s.blue!.latency.count).toBe(0);
    expect(s.blue!.samples).toEqual({ seq: 0, latencyMs: [] });
  });
});
