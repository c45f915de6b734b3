// The canary stage loop on virtual time: when a stage ends, what counts as a failure, what aborts,
// and how promote/abort are answered. The runtime and the clock are fakes passed in; the status
// and command files are real files in a temporary app directory.
import { afterEach, describe, expect, it } from 'vitest';
import { BASELINE_IDLE } from '../../analysis/analysis.js';
import { BAD, BASELINE, CANARY, canaryRig, EPOCH, GOOD, QUIET, stages, weightsOf, type Load, type Rig, type Stage } from '../canary/test-support.js';
import { CanarySession } from '../canary/session.js';
import type { StepResult } from './types.js';
import { CanaryAborted, canaryAnalysisHandler, setWeightsHandler } from './canary-stage.js';

const ERRORS = { name: 'error_rate', max: 1 };
const analysis = (over: Record<string, unknown> = {}) => ({ interval: '1s', failure_limit: 2, min_requests: 10, metrics: [ERRORS], ...over });

let rig: Rig;
afterEach(() => rig?.dispose());

/**
 * Runs one stage as the runner does: the session answers what came before it, its set_weights
 * step, then its analysis. Says how it ended and at which virtual millisecond.
 */
async function run(step: Stage): Promise<{ result?: StepResult; error?: unknown; at: number }> {
  const { ctx } = rig;
  const stage = async (): Promise<StepResult> => {
    const s = ctx.data.canary ?? (await CanarySession.start(ctx, ctx.plan!))!;
    const weights = weightsOf(step);
    const stop = await s.beforeStep(ctx.plan!.steps.findIndex((p) => p.step.kind === 'set_weights' && p.step.stage === step.stage), weights);
    if (stop) throw new CanaryAborted(stop);
    await setWeightsHandler.run(weights.step as Extract<typeof weights.step, { kind: 'set_weights' }>, ctx);
    return canaryAnalysisHandler.run(step, ctx);
  };
  return stage().then(
    (result) => ({ result, at: rig.clock.monotonic() }),
    (error: unknown) => ({ error, at: rig.clock.monotonic() }),
  );
}

/** The judged intervals: stage, end (virtual seconds), verdict, consecutive failures after it. */
function judged(): [number, number, string, number][] {
  return rig.events.flatMap((e) => (e.type === 'analysis' ? [[e.stage, (Date.parse(e.result.at) - EPOCH) / 1000, e.result.verdict, e.failures] as [number, number, string, number]] : []));
}

/** Load by virtual second: `bySecond[i]` from i s to i+1 s, the last one after that. */
const seconds =
  (...bySecond: Load[]) =>
  (fromMs: number): Load =>
    bySecond[Math.min(Math.floor(fromMs / 1000), bySecond.length - 1)]!;

const split = (canary: number) => ({ [CANARY]: canary, [BASELINE]: 100 - canary });
const logs = (level: string) => rig.events.flatMap((e) => (e.type === 'log' && e.level === level ? [e.message] : []));

describe('canary stage timing', () => {
  it('a 2.5 s stage with 1 s intervals ends at 3 s, on the interval that judges its tail, after one weights update', async () => {
    const [s] = stages({ weight: 10, ms: 2500 });
    rig = canaryRig(analysis(), [s!]);
    rig.drive(() => GOOD);
    const r = await run(s!);
    expect(r).toEqual({ result: { status: 'done', detail: '10% to green for 3s; last interval pass' }, at: 3000 });
    expect(rig.rt.weightCalls).toEqual([split(10)]);
    expect(judged()).toEqual([
      [1, 1, 'pass', 0],
      [1, 2, 'pass', 0],
      [1, 3, 'pass', 0],
    ]);
    const last = rig.events.findLast((e) => e.type === 'analysis');
    expect(last?.type === 'analysis' && last.result).toMatchObject({ durationMs: 1000, canaryRequests: 100, baselineRequests: 900 });
    const st = await rig.status();
    expect(st).toMatchObject({ phase: 'stage', weights: split(10), failures: 0, intervals: 3 });
    expect(st.stage).toEqual({ index: 1, total: 1, title: '10% to green', weight: 10, started: new Date(EPOCH).toISOString(), ends_at: new Date(EPOCH + 2500).toISOString(), paused: null });
    expect(rig.session.stagesDone).toBe(1);
  });

  it('counts failures across stages: a pass resets them, an inconclusive interval neither counts nor resets', async () => {
    // stage 1 (2 s): fail, pass; stage 2, a timed pause (2 s): fail, inconclusive; stage 3: fail -> 2 in a row
    const steps = stages({ weight: 10, ms: 2000 }, { weight: 10, ms: 2000, pause: 'timed' }, { weight: 20, ms: 5000 });
    rig = canaryRig(analysis(), steps);
    // what the runner writes into each stage's journal entry as it goes
    const notes: unknown[] = [];
    rig.ctx.note = async (p) => void notes.push(p);
    rig.drive(seconds(BAD, GOOD, BAD, QUIET, BAD));
    expect(await run(steps[0]!)).toMatchObject({ result: { status: 'done' }, at: 2000 });
    expect(await run(steps[1]!)).toMatchObject({ result: { status: 'done' }, at: 4000 });
    const r = await run(steps[2]!);
    expect(r.error).toBeInstanceOf(CanaryAborted);
    expect(r.at).toBe(5000);
    expect(judged()).toEqual([
      [1, 1, 'fail', 1],
      [1, 2, 'pass', 0],
      [2, 3, 'fail', 1],
      [2, 4, 'inconclusive', 1],
      [3, 5, 'fail', 2],
    ]);
    expect(rig.rt.weightCalls).toEqual([split(10), split(10), split(20), split(0)]);
    expect(rig.session.stagesDone).toBe(2);
    const at = (stage: number, failures: number, intervals: number, verdict?: string) => ({ stage, stages: 3, failures, intervals, ...(verdict ? { verdict } : {}) });
    expect(notes).toEqual([at(1, 1, 1, 'fail'), at(1, 0, 2, 'pass'), at(1, 0, 2), at(2, 1, 3, 'fail'), at(2, 1, 4, 'inconclusive'), at(2, 1, 4), at(3, 2, 5, 'fail')]);
  });

  it('at failure_limit puts the weight to 0 before throwing CanaryAborted, and records why', async () => {
    const [s] = stages({ weight: 10, ms: 10_000 });
    rig = canaryRig(analysis(), [s!]);
    rig.drive(() => BAD);
    const r = await run(s!);
    expect(r.at).toBe(2000);
    expect(r.error).toBeInstanceOf(CanaryAborted);
    expect(String(r.error)).toMatch(/canary aborted: 2 failing interval\(s\) in a row \(failure_limit 2\); last: error_rate 50% > max 1/);
    expect(rig.rt.weightCalls).toEqual([split(10), split(0)]);
    expect(rig.session.abortReason).toMatch(/^2 failing interval\(s\) in a row/);
    expect(rig.session.record('failed')).toMatchObject({ outcome: 'aborted', reason: rig.session.abortReason, stages_done: 0, intervals_total: 2 });
    expect(logs('error')).toEqual([expect.stringMatching(/^canary aborted: .*; all traffic back on blue$/)]);
  });

  it('after an abort by the analysis, canary.json shows weight 0 and the interval that aborted', async () => {
    // `deployer status` reads this file while the deploy is undone (and after a failed undo)
    const [s] = stages({ weight: 10, ms: 10_000 });
    rig = canaryRig(analysis(), [s!]);
    rig.drive(() => BAD);
    expect((await run(s!)).error).toBeInstanceOf(CanaryAborted);
    const st = await rig.status();
    expect(st).toMatchObject({ weights: split(0), failures: 2, intervals: 2 });
    expect(st.last.map((r) => r.verdict)).toEqual(['fail', 'fail']);
  });
});

describe('pauses', () => {
  it('a timed pause ends after its time whatever the verdicts', async () => {
    const [s] = stages({ weight: 10, ms: 2500, pause: 'timed' });
    rig = canaryRig(analysis({ failure_limit: 3 }), [s!]);
    rig.drive(() => BAD);
    const r = await run(s!);
    expect(r.result?.status).toBe('done');
    // the loop looks every 200 ms: the pause ends at the first look once 2.5 s have passed
    expect(r.at).toBeGreaterThanOrEqual(2500);
    expect(r.at).toBeLessThan(2700);
    expect(judged()).toEqual([
      [1, 1, 'fail', 1],
      [1, 2, 'fail', 2],
    ]);
  });

  it('a timed pause still aborts when failures reach the limit', async () => {
    const [s] = stages({ weight: 10, ms: 5000, pause: 'timed' });
    rig = canaryRig(analysis(), [s!]);
    rig.drive(() => BAD);
    const r = await run(s!);
    expect(r.error).toBeInstanceOf(CanaryAborted);
    expect(r.at).toBe(2000);
    expect(rig.rt.weightCalls.at(-1)).toEqual(split(0));
  });

  it('a manual pause waits, whatever passes, until a promote of this deploy comes', async () => {
    const [s] = stages({ weight: 10, ms: 0, pause: 'manual' });
    rig = canaryRig(analysis(), [s!]);
    const seen: unknown[] = [];
    rig.drive(
      () => GOOD,
      async (to) => {
        // a command of another deploy is dropped unanswered
        if (to === 1600) await rig.command({ action: 'promote', deploy_id: 'another-deploy', id: 'stale' });
        if (to === 3600) seen.push((await rig.status()).stage);
        if (to === 4600) await rig.command({ action: 'promote', stage: 1 });
      },
    );
    const r = await run(s!);
    expect(r).toEqual({ result: { status: 'done', detail: 'ended by `deployer promote` (alice@laptop)' }, at: 4600 });
    expect(seen).toEqual([expect.objectContaining({ paused: 'manual', ends_at: null })]);
    expect(judged()).toEqual([1, 2, 3, 4].map((t) => [1, t, 'pass', 0]));
    expect((await rig.status()).acks).toEqual([{ id: 'cmd-2', action: 'promote', by: 'alice@laptop', at: new Date(EPOCH + 4600).toISOString(), done: true, note: 'ended stage 1/1' }]);
  });
});

describe('on_inconclusive', () => {
  it('pause: the stage waits past its time, shown as paused, and ends at the next passing interval', async () => {
    const [s] = stages({ weight: 10, ms: 2000 });
    rig = canaryRig(analysis({ on_inconclusive: 'pause' }), [s!]);
    const seen: unknown[] = [];
    rig.drive(seconds(GOOD, QUIET, QUIET, GOOD), async (to) => {
      if (to === 3400) seen.push((await rig.status()).stage?.paused);
    });
    const r = await run(s!);
    expect(r).toEqual({ result: { status: 'done', detail: '10% to green for 4s; last interval pass' }, at: 4000 });
    expect(seen).toEqual(['inconclusive']);
    expect(judged()).toEqual([
      [1, 1, 'pass', 0],
      [1, 2, 'inconclusive', 0],
      [1, 3, 'inconclusive', 0],
      [1, 4, 'pass', 0],
    ]);
    expect(logs('warn')).toEqual([expect.stringMatching(/^stage 1\/1 ended without a passing interval \(error_rate: 0 canary requests < min_requests 10\): waiting/)]);
  });

  it('abort: the stage aborts when its time is up on an inconclusive interval', async () => {
    const [s] = stages({ weight: 10, ms: 2000 });
    rig = canaryRig(analysis({ on_inconclusive: 'abort' }), [s!]);
    rig.drive(seconds(GOOD, QUIET));
    const r = await run(s!);
    expect(r.error).toBeInstanceOf(CanaryAborted);
    expect(r.at).toBe(2000);
    expect(rig.session.abortReason).toBe('stage 1/1 ended without a passing interval: error_rate: 0 canary requests < min_requests 10');
    expect(rig.rt.weightCalls).toEqual([split(10), split(0)]);
  });

  it('proceed: the stage ends on the inconclusive interval', async () => {
    const [s] = stages({ weight: 10, ms: 2000 });
    rig = canaryRig(analysis({ on_inconclusive: 'proceed' }), [s!]);
    rig.drive(seconds(GOOD, QUIET));
    expect(await run(s!)).toEqual({ result: { status: 'done', detail: '10% to green for 2s; last interval inconclusive' }, at: 2000 });
  });
});

describe('promote and abort during a stage', () => {
  it('refuses a plain promote naming another stage; --full ends this one and skips the rest', async () => {
    const steps = stages({ weight: 10, ms: 1000 }, { weight: 20, ms: 3000 }, { weight: 50, ms: 1000 });
    rig = canaryRig(analysis(), steps);
    rig.drive(
      () => GOOD,
      async (to) => {
        if (to === 1600) await rig.command({ action: 'promote', stage: 1 });
        if (to === 2600) await rig.command({ action: 'promote', full: true });
      },
    );
    expect(await run(steps[0]!)).toMatchObject({ result: { status: 'done' }, at: 1000 });
    expect(await run(steps[1]!)).toEqual({ result: { status: 'done', detail: 'ended by `deployer promote --full` (alice@laptop)' }, at: 2600 });
    expect(await run(steps[2]!)).toMatchObject({ result: { status: 'skipped' } });
    expect((await rig.status()).acks).toEqual([
      { id: 'cmd-1', action: 'promote', by: 'alice@laptop', at: new Date(EPOCH + 1600).toISOString(), done: false, note: 'stage 1 is not in progress (now at stage 2/3): nothing done' },
      { id: 'cmd-2', action: 'promote', full: true, by: 'alice@laptop', at: new Date(EPOCH + 2600).toISOString(), done: true, note: 'promoting now, skipping the remaining stages' },
    ]);
    // stage 2 went on after the refusal: its interval at 2 s was judged
    expect(judged()).toEqual([
      [1, 1, 'pass', 0],
      [2, 2, 'pass', 0],
    ]);
    expect(rig.rt.weightCalls).toEqual([split(10), split(20)]);
    expect(rig.session.full).toBe(true);
  });

  it('confirms a promote only once the stage has ended: one that came while a failing interval was judged is refused', async () => {
    const [s] = stages({ weight: 10, ms: 60_000 });
    rig = canaryRig(analysis({ failure_limit: 1 }), [s!]);
    rig.drive(
      () => BAD,
      async (to) => {
        if (to === 1000) rig.rt.hold();
        if (to === 1200) {
          await rig.command({ action: 'promote', stage: 1 });
          rig.rt.release();
        }
      },
    );
    const r = await run(s!);
    expect(r.error).toBeInstanceOf(CanaryAborted);
    expect(rig.rt.weightCalls).toEqual([split(10), split(0)]);
    expect((await rig.status()).acks).toEqual([expect.objectContaining({ action: 'promote', done: false, note: 'the interval judged meanwhile failed: the canary is aborted' })]);
  });

  it('answers an abort that came between stages before the next stage raises the weight', async () => {
    const steps = stages({ weight: 10, ms: 1000 }, { weight: 50, ms: 10_000 });
    rig = canaryRig(analysis(), steps);
    rig.drive(() => GOOD);
    expect(await run(steps[0]!)).toMatchObject({ result: { status: 'done' } });
    await rig.command({ action: 'abort' });
    const r = await run(steps[1]!);
    expect(r.error).toBeInstanceOf(CanaryAborted);
    // 10% then 0: the 50% of stage 2 never reached the router
    expect(rig.rt.weightCalls).toEqual([split(10), split(0)]);
  });

  it('acts on an abort while an evaluation hangs, without waiting for it', async () => {
    const [s] = stages({ weight: 10, ms: 10_000 });
    rig = canaryRig(analysis(), [s!]);
    rig.drive(
      () => GOOD,
      async (to) => {
        if (to === 1000) rig.rt.hold();
        if (to === 1400) await rig.command({ action: 'abort' });
      },
    );
    const r = await run(s!);
    expect(r.error).toBeInstanceOf(CanaryAborted);
    expect(r.at).toBe(1400);
    expect(rig.rt.pending).toBe(1);
    expect(rig.rt.weightCalls).toEqual([split(10), split(0)]);
    expect(rig.session.abortReason).toBe('`deployer abort` by alice@laptop');
    expect((await rig.status()).acks).toEqual([expect.objectContaining({ id: 'cmd-1', action: 'abort', done: true, note: 'weight 0 at stage 1/1; all traffic on blue, the canary is being stopped' })]);
    // the evaluation that finishes afterwards counts for nothing
    rig.rt.release();
    await new Promise((r) => setImmediate(r));
    expect(rig.rt.pending).toBe(0);
    expect(judged()).toEqual([]);
    expect(rig.session.failures).toBe(0);
  });
});

describe('a stage at 100%', () => {
  it('passes on its absolute limits, the comparison with the idle baseline left out', async () => {
    const [s] = stages({ weight: 100, ms: 2000 });
    rig = canaryRig(analysis({ metrics: [{ ...ERRORS, max_ratio_to_baseline: 2 }] }), [s!]);
    rig.drive(() => GOOD);
    expect(await run(s!)).toMatchObject({ result: { status: 'done' }, at: 2000 });
    expect(rig.rt.weightCalls).toEqual([split(100)]);
    expect(judged()).toEqual([
      [1, 1, 'pass', 0],
      [1, 2, 'pass', 0],
    ]);
    const r = rig.session.intervals.at(-1)!;
    expect(r).toMatchObject({ canaryRequests: 1000, baselineRequests: null, weight: 100 });
    expect(r.metrics[0]).toMatchObject({ verdict: 'pass', baseline: null });
    expect(r.metrics[0]!.reason).toContain(BASELINE_IDLE);
  });
});
