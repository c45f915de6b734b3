// The mann-whitney judge (as Kayenta does): is the canary's latency distribution shifted above
// the baseline's in this interval, by enough to matter?
import type { MetricConfig } from '../manifest/schema/analysis.js';
import { fmt, fmtP } from './format.js';
import { mannWhitneyGreater, subsample } from './mann-whitney.js';
import { median } from './quantile.js';
import { isLatencyMetric, routerValue, type PoolWindow, type RouterMetric } from './router-provider.js';
import type { MetricResult } from './types.js';

/** Samples compared on each side at most (evenly spaced through the interval). */
export const MAX_SAMPLES = 2000;
/** Fewer samples on either side than this make the comparison inconclusive. */
export const MIN_SAMPLES = 8;

export interface MannWhitneyInput {
  metric: MetricConfig;
  canary: PoolWindow;
  /** null: there is no baseline pool */
  baseline: PoolWindow | null;
  /** why the baseline cannot be compared with (say too few requests), or null */
  baselineUnusable: string | null;
}

type Judged = Pick<MetricResult, 'canary' | 'baseline' | 'verdict' | 'reason' | 'samples' | 'p'>;

export function judgeMannWhitney(i: MannWhitneyInput): Judged {
  const { metric } = i;
  if (metric.provider !== 'router' || !isLatencyMetric(metric.name)) {
    return {
      canary: null,
      baseline: null,
      verdict: 'inconclusive',
      reason: `${metric.name}: the mann-whitney judge compares router latency samples; use it with provider router and a latency_* metric (this is ${metric.provider} ${metric.name})`,
    };
  }
  const name = metric.name as RouterMetric;
  const canary = routerValue(name, i.canary);
  const baseline = i.baseline ? routerValue(name, i.baseline) : null;
  const values = { canary, baseline };
  const inconclusive = (why: string): Judged => ({ ...values, verdict: 'inconclusive', reason: `${name}${canary === null ? '' : ` ${fmt(canary)} ms`}: ${why}` });
  if (!i.baseline) return inconclusive('no baseline pool to compare with');
  if (i.baselineUnusable) return inconclusive(i.baselineUnusable);
  const x = subsample(i.canary.samples, MAX_SAMPLES);
  const y = subsample(i.baseline.samples, MAX_SAMPLES);
  const samples = { canary: x.length, baseline: y.length };
  if (x.length < MIN_SAMPLES || y.length < MIN_SAMPLES) {
    return { ...inconclusive(`${x.length} canary and ${y.length} baseline latency samples (mann-whitney needs ${MIN_SAMPLES} each)`), samples };
  }
  const { p } = mannWhitneyGreater(x, y);
  const medC = median(x)!;
  const medB = median(y)!;
  const shift = medC - medB;
  const allowed = Math.max(metric.tolerance * medB, metric.min_effect);
  const alpha = 1 - metric.confidence;
  const significant = p < alpha;
  const large = shift > allowed;
  const head = `${name} ${canary === null ? '-' : fmt(canary)} ms vs baseline ${baseline === null ? '-' : fmt(baseline)} ms: mann-whitney p=${fmtP(p)}`;
  const med = `median ${shift >= 0 ? '+' : ''}${fmt(shift)} ms`;
  const reason = !significant
    ? `${head} ≥ ${fmt(alpha)}, ${med}`
    : large
      ? `${head} < ${fmt(alpha)}, ${med}`
      : `${head} < ${fmt(alpha)} but ${med} ≤ ${fmt(allowed)} ms allowed`;
  return { ...values, verdict: significant && large ? 'fail' : 'pass', reason, samples, p };
}
