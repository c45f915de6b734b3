// The threshold judge: max, min and max_ratio_to_baseline on a metric's value.
import { fmt, withUnit } from './format.js';
import type { Measurement, Verdict } from './types.js';

export interface ThresholdInput {
  name: string;
  max?: number | undefined;
  min?: number | undefined;
  maxRatio?: number | undefined;
  canary: Measurement;
  /** the baseline's measurement; null when there is no baseline (ratio checks are then skipped) */
  baseline: Measurement | null;
  /** why the baseline cannot be compared with (say too few requests), or null */
  baselineUnusable?: string | null;
  /** set while the baseline takes no traffic by design: the ratio check is left out, saying so */
  baselineIdle?: string;
}

export interface Judgement {
  verdict: Verdict;
  reason: string;
  canary: number | null;
  baseline: number | null;
}

type Check = { verdict: Verdict; text: string };

function ratioCheck(i: ThresholdInput, value: number, maxRatio: number): Check {
  const b = i.baseline!;
  if (i.baselineUnusable) return { verdict: 'inconclusive', text: `no ratio to baseline: ${i.baselineUnusable}` };
  if (!b.ok) return { verdict: 'inconclusive', text: `no ratio to baseline: ${b.reason}` };
  const base = withUnit(i.name, b.value);
  if (b.value === 0) {
    return value > 0
      ? { verdict: 'fail', text: `with baseline 0 (above a baseline of 0 fails max_ratio_to_baseline ${fmt(maxRatio)})` }
      : { verdict: 'pass', text: `not above baseline 0` };
  }
  const ratio = value / b.value;
  return ratio > maxRatio
    ? { verdict: 'fail', text: `is ${fmt(ratio)}x baseline ${base} > max_ratio_to_baseline ${fmt(maxRatio)}` }
    : { verdict: 'pass', text: `${fmt(ratio)}x baseline ${base} ≤ ${fmt(maxRatio)}` };
}

/** Fails on any limit crossed; inconclusive when the value (or a needed baseline) is missing. */
export function judgeThreshold(i: ThresholdInput): Judgement {
  const baseline = i.baseline?.ok ? i.baseline.value : null;
  if (!i.canary.ok) return { verdict: 'inconclusive', reason: `${i.name}: ${i.canary.reason}`, canary: null, baseline };
  const v = i.canary.value;
  const checks: Check[] = [];
  if (i.max !== undefined) checks.push(v > i.max ? { verdict: 'fail', text: `> max ${fmt(i.max)}` } : { verdict: 'pass', text: `≤ max ${fmt(i.max)}` });
  if (i.min !== undefined) checks.push(v < i.min ? { verdict: 'fail', text: `< min ${fmt(i.min)}` } : { verdict: 'pass', text: `≥ min ${fmt(i.min)}` });
  if (i.maxRatio !== undefined && i.baselineIdle !== undefined) checks.push({ verdict: 'pass', text: `(ratio ${i.baselineIdle})` });
  else if (i.maxRatio !== undefined && i.baseline !== null) checks.push(ratioCheck(i, v, i.maxRatio));
  const value = `${i.name} ${withUnit(i.name, v)}`;
  const verdict: Verdict = checks.some((c) => c.verdict === 'fail') ? 'fail' : checks.some((c) => c.verdict === 'inconclusive') ? 'inconclusive' : 'pass';
  const shown = verdict === 'pass' ? checks : checks.filter((c) => c.verdict === verdict);
  const texts = shown.map((c) => c.text).join(', ');
  const reason = shown.length === 0 ? `${value} (no limits)` : verdict === 'inconclusive' ? `${value}: ${texts}` : `${value} ${texts}`;
  return { verdict, reason, canary: v, baseline };
}
