import type { Step } from '../../plan/steps.js';
import type { StepHandler } from './types.js';
import { instancesOf } from '../context.js';
import { stopAndDeclare } from './runtime-ops.js';

type S = Extract<Step, { kind: 'stop_instances' }>;

/** Stops a pool now (drained first), or has the daemon stop it after the delay. */
export const stopInstancesHandler: StepHandler<S> = {
  async run(step, ctx) {
    const instances = instancesOf(ctx);
    if (step.delayMs > 0) {
      const { stopAt } = await instances.stopPoolAfter(step.pool, step.delayMs);
      return { status: 'done', detail: `pool ${step.pool} stops at ${stopAt}` };
    }
    await instances.stopPoolAfter(step.pool, null);
    await stopAndDeclare(ctx, step.instances, step.pool);
    return { status: 'done', detail: `${step.instances.length} instance(s) stopped` };
  },
};
