import { describe, expect, it } from 'vitest';
import { judgeThreshold, type ThresholdInput } from './threshold.js';
import type { Measurement } from './types.js';

const v = (value: number): Measurement => ({ ok: true, value });
const judge = (i: Partial<ThresholdInput>) => judgeThreshold({ name: 'error_rate', canary: v(0), baseline: null, ...i });

describe('threshold judge', () => {
  it('fails above max and below min, and passes inside them', () => {
    expect(judge({ canary: v(20.31), max: 1 })).toEqual({ verdict: 'fail', reason: 'error_rate 20.3% > max 1', canary: 20.31, baseline: null });
    expect(judge({ name: 'success_rate', canary: v(79.7), min: 99 })).toMatchObject({ verdict: 'fail', reason: 'success_rate 79.7% < min 99' });
    expect(judge({ name: 'latency_p99_ms', canary: v(312.4), max: 500, min: 1 })).toMatchObject({ verdict: 'pass', reason: 'latency_p99_ms 312 ms ≤ max 500, ≥ min 1' });
    expect(judge({ canary: v(1), max: 1 }).verdict).toBe('pass'); // at the limit is within it
    expect(judge({ name: 'queue_depth', canary: v(3) })).toMatchObject({ verdict: 'pass', reason: 'queue_depth 3 (no limits)' });
  });

  it('is inconclusive without a value, naming why', () => {
    expect(judge({ canary: { ok: false, reason: 'no data (no requests in the interval)' }, max: 1 })).toEqual({
      verdict: 'inconclusive',
      reason: 'error_rate: no data (no requests in the interval)',
      canary: null,
      baseline: null,
    });
  });

  it('compares with the baseline', () => {
    expect(judge({ canary: v(3), baseline: v(1), maxRatio: 2 })).toMatchObject({ verdict: 'fail', reason: 'error_rate 3% is 3x baseline 1% > max_ratio_to_baseline 2', baseline: 1 });
    expect(judge({ canary: v(0.3), baseline: v(0.2), maxRatio: 2, max: 1 })).toMatchObject({ verdict: 'pass', reason: 'error_rate 0.3% ≤ max 1, 1.5x baseline 0.2% ≤ 2' });
    // a baseline of 0 passes only a canary of 0
    expect(judge({ canary: v(0), baseline: v(0), maxRatio: 2 }).verdict).toBe('pass');
    expect(judge({ canary: v(0.1), baseline: v(0), maxRatio: 2 })).toMatchObject({ verdict: 'fail', reason: expect.stringContaining('baseline 0') });
  });

  it('skips ratio checks without a baseline, and cannot pass them with an unusable one', () => {
    expect(judge({ canary: v(5), baseline: null, maxRatio: 2 })).toMatchObject({ verdict: 'pass', reason: 'error_rate 5% (no limits)' });
    expect(judge({ canary: v(0.5), baseline: v(0.1), maxRatio: 2, max: 1, baselineUnusable: 'baseline 3 requests < min_requests 50' })).toMatchObject({
      verdict: 'inconclusive',
      reason: 'error_rate 0.5%: no ratio to baseline: baseline 3 requests < min_requests 50',
    });
    expect(judge({ canary: v(0.5), baseline: { ok: false, reason: 'no data' }, maxRatio: 2 })).toMatchObject({ verdict: 'inconclusive', reason: 'error_rate 0.5%: no ratio to baseline: no data' });
    // an absolute limit crossed fails whatever the baseline
    expect(judge({ canary: v(5), baseline: { ok: false, reason: 'no data' }, maxRatio: 2, max: 1 })).toMatchObject({ verdict: 'fail', reason: 'error_rate 5% > max 1' });
  });
});
