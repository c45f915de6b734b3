// Canary analysis: each interval, every metric measured for the canary (and the baseline) and
// judged; the interval's verdict is the worst of them.
import { ROUTER_METRICS } from '../manifest/router-metrics.js';
import type { AnalysisConfig, MetricConfig } from '../manifest/schema/analysis.js';
import type { PoolTraffic } from '../routers/types.js';
import { measureCommand } from './command-provider.js';
import { withUnit } from './format.js';
import { measureHttp } from './http-provider.js';
import { judgeMannWhitney } from './mann-whitney-judge.js';
import { measurePrometheus } from './prometheus-provider.js';
import { isLatencyMetric, isRouterMetric, poolWindow, routerValue, type PoolWindow } from './router-provider.js';
import { judgeThreshold } from './threshold.js';
import type { AnalysisDeps, IntervalResult, Measurement, MetricResult, Subject, Verdict } from './types.js';

export { summarize } from './summarize.js';

export interface AnalysisSubjects {
  app: string;
  canary: Subject;
  baseline: Subject | null;
}

interface Mark {
  at: number;
  snapshot: Record<string, PoolTraffic> | null;
  /** why the router could not be read */
  error: string | null;
}

/** The interval's traffic per pool, or why it is unknown. */
type Traffic = { ok: true; canary: PoolWindow; baseline: PoolWindow | null } | { ok: false; reason: string };

interface Interval {
  durationMs: number;
  traffic: Traffic;
}

/** Why baseline comparisons are left out while the baseline takes no traffic by design. */
export const BASELINE_IDLE = 'not compared: the baseline takes no traffic at this weight';

export class CanaryAnalysis {
  private start: Mark | null = null;
  private index = 0;
  private baselineActive = true;

  constructor(
    private readonly cfg: AnalysisConfig,
    private readonly subjects: AnalysisSubjects,
    private readonly deps: AnalysisDeps,
  ) {}

  /**
   * Whether the baseline takes traffic now. At 100% it takes none by design: comparisons with it
   * (max_ratio_to_baseline, mann-whitney) are left out rather than inconclusive, so a stage at
   * 100% can pass on its absolute limits.
   */
  setBaselineActive(active: boolean): void {
    this.baselineActive = active;
  }

  /** Marks the start of the first interval. Never rejects: an unreadable router makes that interval inconclusive. */
  async begin(): Promise<void> {
    this.start = await this.mark();
  }

  /** Ends the current interval, judges it and starts the next one. Never rejects on a measurement failure. */
  async evaluate(): Promise<IntervalResult> {
    const start = this.start;
    if (!start) throw new Error('CanaryAnalysis.evaluate() called before begin()');
    const end = await this.mark();
    const durationMs = Math.max(0, end.at - start.at);
    const traffic = this.traffic(start, end, durationMs);
    // when the router could not be read now, the next interval starts from the last good mark,
    // so the requests of this one are judged then
    if (end.snapshot !== null || start.snapshot === null) this.start = end;
    const interval: Interval = { durationMs, traffic };
    const metrics = await Promise.all(this.cfg.metrics.map((m) => this.evaluateMetric(m, interval)));
    const canaryRequests = traffic.ok ? traffic.canary.requests : 0;
    return {
      index: ++this.index,
      at: new Date(end.at).toISOString(),
      durationMs,
      canaryRequests,
      baselineRequests: traffic.ok && traffic.baseline ? traffic.baseline.requests : null,
      verdict: intervalVerdict(metrics, traffic.ok ? canaryRequests : null, this.cfg.min_requests),
      metrics,
    };
  }

  private async mark(): Promise<Mark> {
    try {
      const snapshot = await this.deps.router.snapshot();
      return { at: this.deps.now(), snapshot, error: null };
    } catch (e) {
      return { at: this.deps.now(), snapshot: null, error: (e as Error)?.message ?? String(e) };
    }
  }

  private traffic(start: Mark, end: Mark, durationMs: number): Traffic {
    if (!start.snapshot) return { ok: false, reason: `router counters unreadable at the start of the interval: ${start.error}` };
    if (!end.snapshot) return { ok: false, reason: `router counters unreadable: ${end.error}` };
    const window = (s: Subject) => poolWindow(start.snapshot![s.pool], end.snapshot![s.pool], durationMs);
    const { canary, baseline } = this.subjects;
    return { ok: true, canary: window(canary), baseline: baseline && this.baselineActive ? window(baseline) : null };
  }

  private async evaluateMetric(metric: MetricConfig, iv: Interval): Promise<MetricResult> {
    const gate = metric.min_requests ?? this.cfg.min_requests;
    const { traffic } = iv;
    const baselineUnusable = !traffic.ok
      ? traffic.reason
      : traffic.baseline && traffic.baseline.requests < gate
        ? `baseline ${traffic.baseline.requests} requests < min_requests ${gate}`
        : null;
    const result: MetricResult = { name: metric.name, provider: metric.provider, judge: metric.judge, ...(await this.judge(metric, iv, baselineUnusable)) };
    // a judge that cannot apply to this metric says so whatever the traffic
    if (metric.judge === 'mann-whitney' && !(metric.provider === 'router' && isLatencyMetric(metric.name))) return result;
    // the canary's request gate: too little traffic never passes (nor fails) a metric
    const shown = result.canary === null ? metric.name : `${metric.name} ${withUnit(metric.name, result.canary)}`;
    if (!traffic.ok) return { ...result, verdict: 'inconclusive', reason: result.reason.includes(traffic.reason) ? result.reason : `${shown}: request count unknown (${traffic.reason})` };
    if (traffic.canary.requests < gate) return { ...result, verdict: 'inconclusive', reason: `${shown}: ${traffic.canary.requests} canary requests < min_requests ${gate}` };
    return result;
  }

  private async judge(metric: MetricConfig, iv: Interval, baselineUnusable: string | null): Promise<Omit<MetricResult, 'name' | 'provider' | 'judge'>> {
    const t = iv.traffic;
    if (metric.judge === 'mann-whitney') {
      if (!t.ok) return { canary: null, baseline: null, verdict: 'inconclusive', reason: `${metric.name}: ${t.reason}` };
      if (!this.baselineActive && isRouterMetric(metric.name)) {
        const v = routerValue(metric.name, t.canary);
        return { canary: v, baseline: null, verdict: 'pass', reason: `${metric.name}${v === null ? '' : ` ${withUnit(metric.name, v)}`}: ${BASELINE_IDLE}` };
      }
      return judgeMannWhitney({ metric, canary: t.canary, baseline: t.baseline, baselineUnusable });
    }
    const measured = await this.measure(metric, iv);
    return judgeThreshold({
      name: metric.name,
      max: metric.max,
      min: metric.min,
      maxRatio: metric.max_ratio_to_baseline,
      ...measured,
      baselineUnusable,
      ...(this.baselineActive ? {} : { baselineIdle: BASELINE_IDLE }),
    });
  }

  /** The canary's measurement and, when it can be compared, the baseline's (in parallel). */
  private async measure(metric: MetricConfig, iv: Interval): Promise<{ canary: Measurement; baseline: Measurement | null }> {
    const { canary, baseline } = this.subjects;
    if (metric.provider === 'router') {
      if (!isRouterMetric(metric.name)) return { canary: { ok: false, reason: `not a router metric (known: ${ROUTER_METRICS.join(', ')})` }, baseline: null };
      const t = iv.traffic;
      if (!t.ok) return { canary: { ok: false, reason: t.reason }, baseline: null };
      const name = metric.name;
      const value = (w: PoolWindow): Measurement => {
        const v = routerValue(name, w);
        return v === null ? { ok: false, reason: 'no data (no requests in the interval)' } : { ok: true, value: v };
      };
      return { canary: value(t.canary), baseline: t.baseline ? value(t.baseline) : null };
    }
    const compare = baseline !== null && this.baselineActive && metric.max_ratio_to_baseline !== undefined;
    const [c, b] = await Promise.all([this.external(metric, canary, iv.durationMs), compare ? this.external(metric, baseline, iv.durationMs) : null]);
    return { canary: c, baseline: b };
  }

  private async external(metric: MetricConfig, subject: Subject, durationMs: number): Promise<Measurement> {
    const vars = { app: this.subjects.app, pool: subject.pool, release: subject.release, intervalMs: durationMs };
    try {
      switch (metric.provider) {
        case 'prometheus':
          return await measurePrometheus(metric, vars, this.deps.fetch);
        case 'http':
          return await measureHttp(metric, vars, this.deps.fetch);
        case 'command':
          return await measureCommand(metric, this.deps, this.subjects.app, subject, durationMs);
        default:
          return { ok: false, reason: `unknown provider ${String(metric.provider)}` };
      }
    } catch (e) {
      // the providers do not throw; this is the last line of defence for the analysis loop
      return { ok: false, reason: `${metric.provider}: ${(e as Error)?.message ?? String(e)}` };
    }
  }
}

/**
 * Fail when any metric fails; else inconclusive when any is; else pass. Without metrics: pass
 * when the canary had at least min_requests requests (null: unknown), else inconclusive.
 */
export function intervalVerdict(metrics: readonly MetricResult[], canaryRequests: number | null, minRequests: number): Verdict {
  if (metrics.length === 0) return canaryRequests !== null && canaryRequests >= minRequests ? 'pass' : 'inconclusive';
  if (metrics.some((m) => m.verdict === 'fail')) return 'fail';
  if (metrics.some((m) => m.verdict === 'inconclusive')) return 'inconclusive';
  return 'pass';
}
