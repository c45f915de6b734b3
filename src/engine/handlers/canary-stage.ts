import { summarize } from '../../analysis/analysis.js';
import type { IntervalResult } from '../../analysis/types.js';
import type { Step } from '../../plan/steps.js';
import type { CanaryStatus } from '../../state/canary.js';
import { instancesOf, routerOf, type RunContext } from '../context.js';
import { CanarySession, type StageCommand } from '../canary/session.js';
import type { StepHandler } from './types.js';

type Stage = Extract<Step, { kind: 'canary_analysis' }>;
type SetWeights = Extract<Step, { kind: 'set_weights' }>;
type SetRoutes = Extract<Step, { kind: 'set_routes' }>;

/** How often the stage looks for `deployer promote|abort` and an interrupt. */
const POLL_MS = 200;

/** The canary was aborted (by the analysis, a user or an interrupt): its weight is already 0. */
export class CanaryAborted extends Error {}

/** The pools these weights give traffic to that have no instance to take it (running or on its way). */
async function withoutInstances(ctx: RunContext, weights: Record<string, number>): Promise<string[]> {
  const list = await instancesOf(ctx).list();
  const serving = new Set(list.filter((i) => i.state !== 'stopped' && i.state !== 'stopping' && i.state !== 'failed').map((i) => i.pool));
  return Object.entries(weights).filter(([pool, w]) => w > 0 && !serving.has(pool)).map(([pool]) => pool);
}

/**
 * Every pool's share of traffic in one router update. A canary stage's update is skipped when
 * `deployer promote` ended that stage before it began, or `promote --full` the rest. Undo: the
 * weights from before, unless a pool they give traffic to has no instances left (then the
 * router keeps serving from what it has rather than from nothing).
 */
export const setWeightsHandler: StepHandler<SetWeights> = {
  async run(step, ctx) {
    const s = ctx.data.canary;
    if (step.stage !== undefined && s?.skipsStage(step.stage)) return { status: 'skipped', detail: s.full ? 'skipped by `deployer promote --full`' : 'its stage was ended by `deployer promote` before it began' };
    const empty = await withoutInstances(ctx, step.weights);
    if (empty.length) throw new Error(`the pool ${empty.join(', ')} has no instances to take traffic`);
    await routerOf(ctx).setWeights(step.weights);
    return { status: 'done' };
  },
  async undo(step, ctx) {
    if ((await withoutInstances(ctx, step.previous)).length) return;
    await routerOf(ctx).setWeights(step.previous);
  },
};

/** Records why, puts the canary's weight to 0 (before anything else: the runner's rollback hooks come after), says so, throws. */
async function abort(ctx: RunContext, s: CanarySession, step: Stage, reason: string, then?: () => Promise<void>): Promise<never> {
  s.abortReason = reason;
  s.close(reason);
  await s.zeroWeight();
  await then?.();
  ctx.emit({ type: 'log', level: 'error', message: `canary aborted: ${reason}; all traffic back on ${step.baseline.pool}` });
  throw new CanaryAborted(`canary aborted: ${reason}`);
}

/** Why an interval did not pass: the reasons of its metrics with that verdict (any but pass). */
function reasons(r: IntervalResult | null, verdict?: 'fail'): string {
  if (!r) return 'no interval was analysed';
  const why = r.metrics.filter((m) => (verdict ? m.verdict === verdict : m.verdict !== 'pass')).map((m) => m.reason);
  return why.length ? why.join('; ') : summarize(r);
}

/**
 * Judges the interval in progress while still answering `abort` and Ctrl-C at once (a metric
 * may take up to its timeout). A promote that comes meanwhile ends the stage after it.
 */
async function evaluateWatching(ctx: RunContext, s: CanarySession, step: Stage): Promise<{ result: IntervalResult; end: StageCommand | null }> {
  let done = false;
  const judging = s.evaluate(step).finally(() => (done = true));
  judging.catch(() => undefined);
  let end: StageCommand | null = null;
  while (!done) {
    await Promise.race([judging.catch(() => undefined), ctx.clock.sleep(POLL_MS)]);
    if (done) break;
    const cmd = await s.stageCommand(step);
    if (cmd?.action === 'abort') {
      if (end?.action === 'end') await end.ack(false, 'an abort came before the stage ended');
      await abort(ctx, s, step, cmd.reason, cmd.ack);
    }
    if (cmd?.action === 'end') end = cmd;
    if (ctx.signal?.aborted) await abort(ctx, s, step, `interrupted (${String(ctx.signal.reason ?? 'signal')})`);
  }
  return { result: await judging, end };
}

async function runStage(step: Stage, ctx: RunContext, s: CanarySession): Promise<string> {
  // a promote that came before the stage began ended it then (the session answered it)
  const ended = s.endedBefore(step.stage);
  if (ended !== null) return ended;
  const weights = { [step.pool]: step.weight, [step.baseline.pool]: 100 - step.weight };
  const clock = ctx.clock;
  const started = clock.monotonic();
  const startedAt = clock.now();
  const gated = step.pause === null && s.analysis !== null;
  const stageInfo: NonNullable<CanaryStatus['stage']> = {
    index: step.stage,
    total: step.stages,
    title: `${step.weight}% to ${step.pool}`,
    weight: step.weight,
    started: startedAt.toISOString(),
    ends_at: step.pause === 'manual' ? null : new Date(startedAt.getTime() + step.durationMs).toISOString(),
    paused: step.pause === 'manual' ? 'manual' : null,
  };
  // a new weight starts a new interval, so no interval mixes two splits; at 100% the baseline
  // takes no traffic, so comparisons with it are left out
  s.analysis?.setBaselineActive(step.weight < 100);
  if (s.analysis) await s.analysis.begin();
  let nextTick = started + s.intervalMs;
  let last: IntervalResult | null = null;
  await s.enterStage(stageInfo, weights);
  for (;;) {
    const cmd = await s.stageCommand(step);
    if (cmd?.action === 'abort') await abort(ctx, s, step, cmd.reason, cmd.ack);
    if (cmd?.action === 'end') {
      await cmd.ack(true);
      return cmd.note;
    }
    if (ctx.signal?.aborted) await abort(ctx, s, step, `interrupted (${String(ctx.signal.reason ?? 'signal')})`);
    let judged = false;
    if (s.analysis && clock.monotonic() >= nextTick) {
      const { result, end } = await evaluateWatching(ctx, s, step);
      last = result;
      judged = true;
      // where the stage stands is in the journal, not only here
      await ctx.note?.({ stage: step.stage, stages: step.stages, failures: s.failures, verdict: last.verdict, intervals: s.intervals.length });
      nextTick = Math.max(nextTick + s.intervalMs, clock.monotonic() + 1);
      if (last.verdict === 'fail' && s.failures >= s.cfg!.failure_limit) {
        if (end?.action === 'end') await end.ack(false, 'the interval judged meanwhile failed: the canary is aborted');
        await abort(ctx, s, step, `${s.failures} failing interval(s) in a row (failure_limit ${s.cfg!.failure_limit}); last: ${reasons(last, 'fail')}`);
      }
      await s.publish();
      if (end?.action === 'end') {
        await end.ack(true);
        return end.note;
      }
    }
    const timeUp = clock.monotonic() - started >= step.durationMs;
    if (step.pause === 'timed' && timeUp) break;
    if (step.pause === null && timeUp) {
      if (!gated) break;
      // a stage ends on a judged interval, so its last part at this weight is judged too
      if (judged && last?.verdict === 'pass') break;
      if (judged && last?.verdict === 'fail' && stageInfo.paused === null) {
        // over its time on a failing interval (below the limit): the next one decides
        stageInfo.paused = 'failing';
        await s.enterStage(stageInfo, weights);
      }
      if (judged && last?.verdict === 'inconclusive') {
        const policy = s.cfg!.on_inconclusive;
        if (policy === 'proceed') break;
        if (policy === 'abort') await abort(ctx, s, step, `stage ${step.stage}/${step.stages} ended without a passing interval: ${reasons(last)}`);
        if (stageInfo.paused !== 'inconclusive') {
          stageInfo.paused = 'inconclusive';
          ctx.emit({ type: 'log', level: 'warn', message: `stage ${step.stage}/${step.stages} ended without a passing interval (${reasons(last)}): waiting for one, or for \`deployer promote\` / \`deployer abort\`` });
          await s.enterStage(stageInfo, weights);
        }
      }
    }
    const wait = Math.min(POLL_MS, s.analysis ? Math.max(1, nextTick - clock.monotonic()) : POLL_MS);
    await clock.sleep(wait).catch(() => undefined);
  }
  return `${step.weight}% to ${step.pool} for ${Math.round((clock.monotonic() - started) / 100) / 10}s${last ? `; last interval ${last.verdict}` : ''}`;
}

/**
 * One stage of a canary, at the weights its set_weights step set: every analysis interval judges
 * the canary against the baseline. The stage ends once its time is up and an interval judged then
 * passed (a pause: once its time is up, or on `deployer promote`). `failure_limit` failing
 * intervals in a row, `deployer abort` or Ctrl-C abort at once, whatever is left of the stage.
 * Any failure puts the canary's weight to 0 at once; undoing the set_weights steps does it again.
 */
export const canaryAnalysisHandler: StepHandler<Stage> = {
  async run(step, ctx) {
    const s = ctx.data.canary ?? (await CanarySession.start(ctx, ctx.plan!))!;
    if (s.full) return { status: 'skipped', detail: 'skipped by `deployer promote --full`' };
    try {
      const detail = await runStage(step, ctx, s);
      s.stagesDone++;
      await ctx.note?.({ stage: step.stage, stages: step.stages, failures: s.failures, intervals: s.intervals.length });
      return { status: 'done', detail };
    } catch (e) {
      if (!(e instanceof CanaryAborted)) {
        s.close('the stage failed');
        await s.zeroWeight();
      }
      throw e;
    }
  },
};

export const setRoutesHandler: StepHandler<SetRoutes> = {
  async run(step, ctx) {
    await routerOf(ctx).setRoutes(step.routes);
    return { status: 'done' };
  },
  async undo(_step, ctx) {
    await routerOf(ctx).setRoutes([]);
  },
};
