import { CanaryAnalysis } from '../../analysis/analysis.js';
import { runShellCommand } from '../../analysis/command-provider.js';
import type { IntervalResult } from '../../analysis/types.js';
import type { AnalysisConfig } from '../../manifest/schema/analysis.js';
import type { Plan, PlannedStep, Step } from '../../plan/steps.js';
import { clearCanaryFiles, takeCanaryCommands, writeCanaryStatus, type CanaryAck, type CanaryCommand, type CanaryRecord, type CanaryStatus, type StagedInterval } from '../../state/canary.js';

import { errorMessage } from '../../errors.js';
import { routerOf, type RunContext } from '../context.js';

type Stage = Extract<Step, { kind: 'canary_analysis' }>;

/** Intervals kept for the history entry (the newest): a long canary keeps its entry bounded. */
const HISTORY_INTERVALS = 200;
const STATUS_INTERVALS = 5;
const ACKS_KEPT = 10;

/**
 * What a stage does with the commands that came (the session decides; the stage acts and then
 * answers: an end is only confirmed once the stage has really ended, since an interval judged
 * meanwhile may abort the canary instead).
 */
export type StageCommand = { action: 'abort'; reason: string; ack: () => Promise<void> } | { action: 'end'; note: string; ack: (done: boolean, note?: string) => Promise<void> };

/**
 * The state of one canary deploy from its first step to its last: the analysis (its interval
 * continues from one stage to the next), the consecutive failures, every interval's result, the
 * status file others read, and the `promote`/`abort` commands, answered whichever step runs.
 */
export class CanarySession {
  readonly analysis: CanaryAnalysis | null;
  readonly cfg: AnalysisConfig | null;
  readonly pool: string;
  readonly baseline: { pool: string; release: string | null };
  readonly release: string;
  failures = 0;
  intervals: StagedInterval[] = [];
  private intervalsTotal = 0;
  stagesDone = 0;
  /** `deployer promote --full`: the remaining stages are skipped */
  full = false;
  abortReason: string | undefined;
  private acks: CanaryAck[] = [];
  private answered: CanaryAck[] = [];
  /** the stage failed or was aborted: late results are not counted, measurements are stopped */
  private readonly closing = new AbortController();
  private phase: CanaryStatus['phase'] = 'starting';
  private stage: CanaryStatus['stage'] = null;
  private weights: Record<string, number>;
  private readonly firstStage: number;
  private readonly lastStage: number;
  private readonly switchAt: number;
  private readonly stages: number;
  /** the stage a promote ended before it began, and how */
  private ended: { stage: number; note: string } | null = null;

  private constructor(
    private readonly ctx: RunContext,
    plan: Plan,
    first: Stage,
  ) {
    this.pool = first.pool;
    this.baseline = first.baseline;
    this.release = first.release;
    this.stages = first.stages;
    this.weights = { [first.pool]: 0, [first.baseline.pool]: 100 };
    this.firstStage = plan.steps.findIndex((p) => isStageStep(p.step));
    this.lastStage = plan.steps.map((p) => p.step.kind).lastIndexOf('canary_analysis');
    this.switchAt = plan.steps.findIndex((p) => p.step.kind === 'switch_traffic');
    const a = ctx.loaded.manifest.analysis;
    this.cfg = a && a.metrics.length > 0 ? a : null;
    const app = ctx.loaded.manifest.name;
    this.analysis = this.cfg
      ? new CanaryAnalysis(this.cfg, { app, canary: { pool: this.pool, release: this.release }, baseline: this.baseline.release ? { pool: this.baseline.pool, release: this.baseline.release } : null }, {
          router: {
            snapshot: async () => {
              const router = routerOf(ctx);
              if (!router.traffic) throw new Error(`router.type ${router.kind} does not count requests per pool (provider: router)`);
              return router.traffic();
            },
          },
          // measurements in flight stop when the canary is aborted, so none outlives the deploy
          fetch: (input, init) => globalThis.fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, this.closing.signal]) : this.closing.signal }),
          runCommand: (command, opts) => runShellCommand(command, { ...opts, signal: this.closing.signal }),
          now: () => ctx.clock.now().getTime(),
          env: ctx.loaded.manifest.environment,
          cwd: ctx.layout.release(this.release),
        })
      : null;
  }

  /** The session of a plan with canary stages (null without), published as starting; stale commands are dropped. */
  static async start(ctx: RunContext, plan: Plan): Promise<CanarySession | null> {
    const first = plan.steps.find((p) => p.step.kind === 'canary_analysis')?.step as Stage | undefined;
    if (!first) return null;
    const s = new CanarySession(ctx, plan, first);
    await clearCanaryFiles(ctx.transport, ctx.layout);
    await ctx.transport.fs.mkdirp(ctx.layout.canaryCommands);
    ctx.data.canary = s;
    await s.publish();
    return s;
  }

  get intervalMs(): number {
    return this.cfg?.interval ?? 10_000;
  }

  /**
   * Before each step of the plan (the runner asks): answers the commands that came while no stage
   * runs (a stage answers its own). An abort before the switch fails the deploy here (its reason
   * is returned) and wins over anything else that came with it; after the switch it is refused,
   * the canary having been promoted.
   */
  async beforeStep(index: number, p: PlannedStep): Promise<string | null> {
    // a stage's analysis answers the commands that come while it runs
    if (p.step.kind === 'canary_analysis') return null;
    if (p.step.kind === 'set_weights' && p.step.stage !== undefined) return this.beforeStage(p.step.stage);
    const promoted = this.switchAt >= 0 && index > this.switchAt;
    this.phase = promoted ? 'promoted' : index < this.firstStage ? 'starting' : index < this.lastStage ? 'between' : 'promoting';
    if (index >= this.firstStage) this.stage = null;
    await this.publish();
    const cmds = await this.commands();
    const abort = promoted ? undefined : cmds.find((c) => c.action === 'abort');
    if (abort) {
      for (const c of cmds) if (c !== abort) await this.ack(c, false, 'an abort came at the same time and wins');
      const reason = `\`deployer abort\` by ${abort.by}`;
      this.abortReason = reason;
      this.closing.abort(reason);
      await this.zeroWeight();
      await this.ack(abort, true, `aborting ${this.phase === 'starting' ? 'before the first stage' : this.phase === 'between' ? 'between stages' : 'before promotion'}; all traffic on ${this.baseline.pool}`);
      return reason;
    }
    for (const c of cmds) {
      if (c.action === 'abort') await this.ack(c, false, 'the canary has been promoted: traffic has moved to it; `deployer rollback` takes it back');
      else if (promoted || this.phase === 'promoting') await this.ack(c, true, 'already promoting');
      else if (c.full) {
        this.full = true;
        await this.ack(c, true, this.phase === 'starting' ? 'every stage will be skipped: promoting once the canary is up' : 'the remaining stages will be skipped');
      } else await this.ack(c, false, this.phase === 'starting' ? 'the canary is still starting: no stage to end yet (`promote --full` skips every stage)' : 'between stages: no stage to end (`promote --full` skips the rest)');
    }
    return null;
  }

  /**
   * Before a stage raises the weight: what came between stages is answered first. An abort fails
   * the deploy here (its reason returned; the canary's weight put to 0 at once); a promote ends
   * the stage before it began (its set_weights and analysis steps then do nothing).
   */
  private async beforeStage(stage: number): Promise<string | null> {
    const stages = this.stages;
    const cmd = await this.stageCommand({ stage, stages });
    if (cmd?.action === 'abort') {
      this.abortReason = cmd.reason;
      this.close(cmd.reason);
      await this.zeroWeight();
      await cmd.ack();
      this.ctx.emit({ type: 'log', level: 'error', message: `canary aborted: ${cmd.reason}; all traffic back on ${this.baseline.pool}` });
      return `canary aborted: ${cmd.reason}`;
    }
    if (cmd?.action === 'end') {
      await cmd.ack(true);
      this.ended = { stage, note: cmd.note };
    }
    return null;
  }

  /** The stage's set_weights step has nothing to do: `promote --full` came, or a promote ended the stage before it began. */
  skipsStage(stage: number): boolean {
    return this.full || this.ended?.stage === stage;
  }

  /** How a promote ended the stage before it began (null: it did not). */
  endedBefore(stage: number): string | null {
    return this.ended?.stage === stage ? this.ended.note : null;
  }

  /** During a stage: what to do about the commands that came (an abort wins over any promote). */
  async stageCommand(step: { stage: number; stages: number }): Promise<StageCommand | null> {
    const cmds = await this.commands();
    const abort = cmds.find((c) => c.action === 'abort');
    if (abort) {
      for (const c of cmds) if (c !== abort) await this.ack(c, false, 'an abort came at the same time and wins');
      return { action: 'abort', reason: `\`deployer abort\` by ${abort.by}`, ack: () => this.ack(abort, true, `weight 0 at stage ${step.stage}/${step.stages}; all traffic on ${this.baseline.pool}, the canary is being stopped`) };
    }
    const ending: CanaryCommand[] = [];
    for (const c of cmds) {
      if (!c.full && c.stage !== undefined && c.stage !== step.stage) await this.ack(c, false, `stage ${c.stage || 'none'} is not in progress (now at stage ${step.stage}/${step.stages}): nothing done`);
      else ending.push(c);
    }
    if (ending.length === 0) return null;
    const full = ending.some((c) => c.full);
    const first = ending[0]!;
    return {
      action: 'end',
      note: `ended by \`deployer promote${first.full ? ' --full' : ''}\` (${first.by})`,
      // confirmed once the stage has really ended (or refused, when the canary aborts first)
      ack: async (done, why) => {
        if (done && full) this.full = true;
        for (const c of ending) await this.ack(c, done, why ?? (c.full ? 'promoting now, skipping the remaining stages' : `ended stage ${step.stage}/${step.stages}`));
      },
    };
  }

  private async commands(): Promise<CanaryCommand[]> {
    return (await takeCanaryCommands(this.ctx.transport, this.ctx.layout)).filter((c) => c.deploy_id === this.ctx.deployId);
  }

  async ack(c: CanaryCommand, done: boolean, note: string): Promise<void> {
    const a: CanaryAck = { id: c.id, action: c.action, ...(c.full ? { full: true } : {}), by: c.by, at: this.ctx.clock.now().toISOString(), done, note };
    this.acks = [...this.acks, a].slice(-ACKS_KEPT);
    this.answered = [...this.answered, a].slice(-HISTORY_INTERVALS);
    this.ctx.emit({ type: 'log', level: 'warn', message: `${c.action}${c.full ? ' --full' : ''} by ${c.by}: ${done ? '' : 'refused: '}${note}` });
    await this.publish();
  }

  /** The stage failed or aborted: measurements in flight stop, and their late results are not counted. */
  close(why: string): void {
    if (!this.closing.signal.aborted) this.closing.abort(why);
  }

  /** The canary's weight to 0 now, best effort (the undo of its stages does it again), and published. */
  async zeroWeight(): Promise<void> {
    try {
      await routerOf(this.ctx).setWeights({ [this.pool]: 0, [this.baseline.pool]: 100 });
      this.weights = { [this.pool]: 0, [this.baseline.pool]: 100 };
    } catch (e) {
      this.ctx.emit({ type: 'log', level: 'error', message: `could not put the canary's weight to 0 at once (${errorMessage(e)}); undoing the deploy does it` });
    }
    await this.publish();
  }

  /** Ends the interval in progress and judges it; the failure count follows the verdict. */
  async evaluate(step: Stage): Promise<IntervalResult> {
    const r = await this.analysis!.evaluate();
    // judged after an abort or a failure (it raced it): nothing to count any more
    if (this.closing.signal.aborted) return r;
    if (r.verdict === 'fail') this.failures++;
    else if (r.verdict === 'pass') this.failures = 0;
    this.intervals.push({ ...r, stage: step.stage, weight: step.weight });
    this.intervalsTotal++;
    if (this.intervals.length > HISTORY_INTERVALS) this.intervals.shift();
    this.ctx.emit({ type: 'analysis', stage: step.stage, stages: step.stages, weight: step.weight, result: r, failures: this.failures, failureLimit: this.cfg!.failure_limit });
    return r;
  }

  enterStage(stage: NonNullable<CanaryStatus['stage']>, weights: Record<string, number>): Promise<void> {
    this.phase = 'stage';
    this.stage = stage;
    this.weights = weights;
    return this.publish();
  }

  /** Writes canary.json. A failure to write it only warns: the canary goes on (or aborts) whatever the file. */
  async publish(): Promise<void> {
    const { ctx } = this;
    const status: CanaryStatus = {
      deploy_id: ctx.deployId,
      app: ctx.loaded.manifest.name,
      release: this.release,
      pool: this.pool,
      baseline: this.baseline,
      pid: process.pid,
      phase: this.phase,
      stage: this.stage,
      weights: this.weights,
      failures: this.failures,
      failure_limit: this.cfg?.failure_limit ?? 0,
      intervals: this.intervalsTotal,
      last: this.intervals.slice(-STATUS_INTERVALS),
      acks: this.acks,
      updated: ctx.clock.now().toISOString(),
    };
    try {
      await writeCanaryStatus(ctx.transport, ctx.layout, ctx.redactor.redactValue(status));
    } catch (e) {
      ctx.emit({ type: 'log', level: 'warn', message: `could not write ${ctx.layout.canaryStatus}: ${errorMessage(e)}` });
    }
  }

  /**
   * The deploy is over: canary.json stays, as `ended`, with the answers given (a requester polling
   * for its answer still finds it), and requests that came too late are dropped.
   */
  async finish(): Promise<void> {
    this.close('the deploy ended');
    this.phase = 'ended';
    this.stage = null;
    for (const c of await this.commands().catch(() => [])) await this.ack(c, false, 'the deploy ended before acting on it');
    await this.publish();
    await this.ctx.transport.fs.remove(this.ctx.layout.canaryCommands).catch(() => undefined);
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
      intervals_total: this.intervalsTotal,
      commands: this.answered,
    };
  }
}

/** A step of a canary stage: its weights update or its analysis. */
function isStageStep(step: Step): boolean {
  return step.kind === 'canary_analysis' || (step.kind === 'set_weights' && step.stage !== undefined);
}
