import { randomUUID } from 'node:crypto';
import { CanaryAnalysis } from '../../analysis/analysis.js';
import { runShellCommand } from '../../analysis/command-provider.js';
import type { IntervalResult } from '../../analysis/types.js';
import type { AnalysisConfig } from '../../manifest/schema/analysis.js';
import type { Step } from '../../plan/steps.js';
import { clearCanaryFiles, readCanaryCommand, writeCanaryStatus, type CanaryCommand, type CanaryStatus } from '../../state/canary.js';
import type { RunContext } from '../context.js';
import { runtimeOf } from '../handlers/runtime-ops.js';

type Stage = Extract<Step, { kind: 'canary_stage' }>;

/** Intervals kept for the history entry (the newest); a long canary keeps its summary bounded. */
const HISTORY_INTERVALS = 500;
const STATUS_INTERVALS = 5;

/** One analysed interval, with the stage it belonged to. */
export type StagedInterval = IntervalResult & { stage: number; weight: number };

/** What the history records about a canary: every interval's values and verdict, and its end. */
export interface CanaryRecord {
  pool: string;
  baseline: { pool: string; release: string | null };
  outcome: 'promoted' | 'aborted' | 'failed' | 'in_progress';
  reason?: string;
  stages_done: number;
  intervals: StagedInterval[];
}

/**
 * The state of one canary across its stages: the analysis (its interval continues from one
 * stage to the next), the consecutive failures, every interval's result, the commands acted on.
 */
export class CanarySession {
  readonly analysis: CanaryAnalysis | null;
  readonly cfg: AnalysisConfig | null;
  failures = 0;
  intervals: StagedInterval[] = [];
  stagesDone = 0;
  /** `deployer promote --full`: the remaining stages are skipped */
  full = false;
  abortReason: string | undefined;
  private acked: CanaryStatus['acked'];
  private status: CanaryStatus | undefined;

  private constructor(
    private readonly ctx: RunContext,
    readonly pool: string,
    readonly baseline: { pool: string; release: string | null },
    readonly release: string,
  ) {
    const a = ctx.loaded.manifest.analysis;
    this.cfg = a && a.metrics.length > 0 ? a : null;
    const rt = runtimeOf(ctx);
    const app = ctx.loaded.manifest.name;
    this.analysis = this.cfg
      ? new CanaryAnalysis(this.cfg, { app, canary: { pool, release }, baseline: baseline.release ? { pool: baseline.pool, release: baseline.release } : null }, {
          router: { snapshot: async () => (await rt.traffic(app)).pools },
          fetch: globalThis.fetch,
          runCommand: runShellCommand,
          now: () => ctx.clock.now().getTime(),
          env: ctx.loaded.manifest.environment,
          cwd: ctx.layout.release(release),
        })
      : null;
  }

  /** The session of this deploy, made at its first stage (a stale command file is dropped then). */
  static async of(ctx: RunContext, step: Stage): Promise<CanarySession> {
    if (ctx.data.canary) return ctx.data.canary;
    const s = new CanarySession(ctx, step.pool, step.baseline, step.release);
    await clearCanaryFiles(ctx.transport, ctx.layout);
    ctx.data.canary = s;
    return s;
  }

  get intervalMs(): number {
    return this.cfg?.interval ?? 10_000;
  }

  /** A command for this deploy, taken (removed) from the command file; others are dropped. */
  async takeCommand(): Promise<CanaryCommand | null> {
    const { transport: t, layout } = this.ctx;
    const c = await readCanaryCommand(t, layout);
    if (!c) return null;
    await t.fs.remove(layout.canaryCommand);
    if (c.deploy_id !== this.ctx.deployId || (c.action !== 'promote' && c.action !== 'abort')) return null;
    return c;
  }

  async ack(c: CanaryCommand, note: string): Promise<void> {
    this.acked = { id: c.id, action: c.action, at: this.ctx.clock.now().toISOString(), note };
    this.ctx.emit({ type: 'log', level: 'warn', message: `${c.action}${c.full ? ' --full' : ''} by ${c.by}: ${note}` });
    if (this.status) await this.publish(this.status.stage, this.status.weights);
  }

  /** Ends the interval in progress and judges it; the failure count follows the verdict. */
  async evaluate(step: Stage): Promise<IntervalResult> {
    const r = await this.analysis!.evaluate();
    if (r.verdict === 'fail') this.failures++;
    else if (r.verdict === 'pass') this.failures = 0;
    this.intervals.push({ ...r, stage: step.stage, weight: step.weight });
    if (this.intervals.length > HISTORY_INTERVALS) this.intervals.shift();
    this.ctx.emit({ type: 'analysis', stage: step.stage, stages: step.stages, weight: step.weight, result: r, failures: this.failures, failureLimit: this.cfg!.failure_limit });
    return r;
  }

  async publish(stage: CanaryStatus['stage'], weights: Record<string, number>): Promise<void> {
    const { ctx } = this;
    this.status = {
      deploy_id: ctx.deployId,
      app: ctx.loaded.manifest.name,
      release: this.release,
      pool: this.pool,
      baseline: this.baseline,
      pid: process.pid,
      stage,
      weights,
      failures: this.failures,
      failure_limit: this.cfg?.failure_limit ?? 0,
      intervals: this.intervals.length,
      last: this.intervals.slice(-STATUS_INTERVALS),
      ...(this.acked ? { acked: this.acked } : {}),
      updated: ctx.clock.now().toISOString(),
    };
    await writeCanaryStatus(ctx.transport, ctx.layout, ctx.redactor.redactValue(this.status));
  }

  record(result: 'succeeded' | 'failed' | 'rolled_back'): CanaryRecord {
    const outcome = result === 'succeeded' ? 'promoted' : this.abortReason ? 'aborted' : 'failed';
    return {
      pool: this.pool,
      baseline: this.baseline,
      outcome,
      ...(this.abortReason ? { reason: this.abortReason } : {}),
      stages_done: this.stagesDone,
      intervals: this.intervals,
    };
  }
}

export const newCommandId = (): string => randomUUID();
