import { describe, expect, it } from 'vitest';
import type { AppMetrics, RouterAppView } from '../model.js';
import { BOUNDS_MS, CLASS_ERROR, statusClass, Traffic } from './metrics.js';
import { escapeLabel, renderPrometheus } from './prometheus.js';

describe('Traffic', () => {
  it('counts by status class and buckets latency by upper bound', () => {
    const t = new Traffic();
    t.record(statusClass(200), 0.5);
    t.record(statusClass(204), 1);
    t.record(statusClass(404), 3);
    t.record(statusClass(503), 20_000);
    t.record(CLASS_ERROR, 7);
    const m = t.toJSON();
    expect(m.requests).toEqual({ '1xx': 0, '2xx': 2, '3xx': 0, '4xx': 1, '5xx': 1, errors: 1 });
    expect(m.latency.boundsMs).toEqual(BOUNDS_MS);
    expect(m.latency.counts).toHaveLength(BOUNDS_MS.length + 1);
    expect(m.latency.counts[0]).toBe(2); // <= 1 ms
    expect(m.latency.counts[2]).toBe(1); // <= 5 ms
    expect(m.latency.counts[3]).toBe(1); // <= 10 ms
    expect(m.latency.counts[BOUNDS_MS.length]).toBe(1); // +Inf
    expect(m.latency.count).toBe(5);
    expect(m.latency.sumMs).toBe(20_011.5);
  });

  it('classes statuses', () => {
    expect([100, 101, 200, 299, 301, 404, 500, 599, 42, 700].map(statusClass)).toEqual([0, 0, 1, 1, 2, 3, 4, 4, 4, 4]);
  });
});

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*")*\})? (-?[0-9.e+-]+|\+Inf|NaN)$/;

describe('renderPrometheus', () => {
  const t = new Traffic();
  t.record(1, 3);
  t.record(1, 30);
  t.record(CLASS_ERROR, 2);
  const metrics: AppMetrics[] = [{ app: 'sh"op\\x\ny', pools: { blue: { ...t.toJSON(), targets: { 'blue-0': t.toJSON() } } } }];
  const views: RouterAppView[] = [
    { name: 'shop', listen: { host: '127.0.0.1', port: 1 }, pools: [{ name: 'blue', weight: 100, targets: [{ id: 'blue-0', pool: 'blue', port: 2, state: 'healthy', inFlight: 3, lastError: null }] }] },
    { name: 'sh"op\\x\ny', listen: { host: '127.0.0.1', port: 1 }, pools: [{ name: 'blue', weight: 100, targets: [{ id: 'blue-0', pool: 'blue', port: 2, state: 'healthy', inFlight: 0, lastError: null, release: '20240101-1' }] }] },
  ];
  const text = renderPrometheus(metrics, views);

  it('writes only well-formed lines', () => {
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.trimEnd().split('\n')) {
      if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
      expect(line).toMatch(LINE);
    }
  });

  it('escapes label values', () => {
    expect(escapeLabel('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    expect(text).toContain('app="sh\\"op\\\\x\\ny"');
  });

  it('labels a target without a known release with an empty release', () => {
    const other = renderPrometheus([{ app: 'shop', pools: { blue: { ...t.toJSON(), targets: { 'blue-0': t.toJSON() } } } }], views);
    expect(other).toContain('deployer_router_requests_total{app="shop",pool="blue",target="blue-0",release="",class="2xx"} 2');
  });

  it('has the counters, a cumulative histogram and the gauges', () => {
    expect(text).toContain('deployer_router_requests_total{app="sh\\"op\\\\x\\ny",pool="blue",target="blue-0",release="20240101-1",class="2xx"} 2');
    expect(text).toContain('deployer_router_requests_total{app="sh\\"op\\\\x\\ny",pool="blue",target="blue-0",release="20240101-1",class="error"} 1');
    expect(text).toContain('deployer_router_pool_requests_total{app="sh\\"op\\\\x\\ny",pool="blue",class="2xx"} 2');
    expect(text).toContain('deployer_router_pool_requests_total{app="sh\\"op\\\\x\\ny",pool="blue",class="error"} 1');
    expect(text).toContain('deployer_router_pool_requests_total{app="sh\\"op\\\\x\\ny",pool="blue",class="5xx"} 0');
    expect(text).toContain('# TYPE deployer_router_pool_requests_total counter');
    expect(text).toContain('deployer_router_request_duration_seconds_bucket{app="sh\\"op\\\\x\\ny",pool="blue",le="0.005"} 2');
    expect(text).toContain('deployer_router_request_duration_seconds_bucket{app="sh\\"op\\\\x\\ny",pool="blue",le="+Inf"} 3');
    expect(text).toContain('deployer_router_request_duration_seconds_count{app="sh\\"op\\\\x\\ny",pool="blue"} 3');
    expect(text).toContain('deployer_router_request_duration_seconds_sum{app="sh\\"op\\\\x\\ny",pool="blue"} 0.035');
    expect(text).toContain('deployer_router_target_request_duration_seconds_count{app="sh\\"op\\\\x\\ny",pool="blue",target="blue-0",release="20240101-1"} 3');
    expect(text).toContain('deployer_router_pool_weight{app="shop",pool="blue"} 100');
    expect(text).toContain('deployer_router_target_up{app="shop",pool="blue",target="blue-0"} 1');
    expect(text).toContain('deployer_router_in_flight{app="shop",pool="blue",target="blue-0"} 3');
    expect(text).toContain('# TYPE deployer_router_request_duration_seconds histogram');
  });
});
