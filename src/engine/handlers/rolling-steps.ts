// Rolling's single-action steps: one instance each, so the journal says which instance stood
// where when a deploy stopped. The runner runs a batch's instances at once (PlannedStep.batch).
import type { Step } from '../../plan/steps.js';
import { instancesOf, routerOf, type RunContext } from '../context.js';
import { startAndWait, stopAndDeclare } from './runtime-ops.js';
import type { StepHandler } from './types.js';

type Of<K extends Step['kind']> = Extract<Step, { kind: K }>;

/** Starts one instance on a release, out of traffic, and waits until it is healthy. */
function startOne(ctx: RunContext, step: { id: string; port: number; pool: string }, release: string): Promise<void> {
  return startAndWait(ctx, step.pool, release, [{ id: step.id, port: step.port }]);
}

/** Out of rotation, in-flight requests finishing; undo: back in rotation. */
export const drainTargetHandler: StepHandler<Of<'drain_target'>> = {
  async run(step, ctx) {
    await routerOf(ctx).drain(step.id, step.timeoutMs);
    return { status: 'done' };
  },
  async undo(step, ctx) {
    await routerOf(ctx).enable(step.id);
  },
};

/** Stops the (drained) instance; undo: starts it again on the release it ran, and waits until healthy. */
export const stopInstanceHandler: StepHandler<Of<'stop_instance'>> = {
  async run(step, ctx) {
    await stopAndDeclare(ctx, [step.id], step.pool);
    return { status: 'done' };
  },
  async undo(step, ctx) {
    const now = (await instancesOf(ctx).list()).find((i) => i.id === step.id);
    if (now && now.release === step.release && now.state === 'running') return;
    await startOne(ctx, step, step.release);
  },
};

/** Starts the instance on the new release, held out of traffic, until healthy; undo: stops it. */
export const startInstanceHandler: StepHandler<Of<'start_instance'>> = {
  async run(step, ctx) {
    await startOne(ctx, step, step.release);
    return { status: 'done', detail: `${step.id} healthy on ${step.release}` };
  },
  async undo(step, ctx) {
    await stopAndDeclare(ctx, [step.id], step.pool);
  },
};

/** Back in rotation; undo: drained out of it again. */
export const enableTargetHandler: StepHandler<Of<'enable_target'>> = {
  async run(step, ctx) {
    await routerOf(ctx).enable(step.id);
    return { status: 'done' };
  },
  async undo(step, ctx) {
    await routerOf(ctx).drain(step.id, step.timeoutMs);
  },
};

/** A pause (rolling's batch_delay); an interrupt ends it. */
export const waitHandler: StepHandler<Of<'wait'>> = {
  async run(step, ctx) {
    await ctx.clock.sleep(step.ms, ctx.signal);
    return { status: 'done' };
  },
};
