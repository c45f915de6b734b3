import type { Step } from '../../plan/steps.js';
import type { StepHandler } from './types.js';
import { runtimeOf } from './runtime-ops.js';

type S = Extract<Step, { kind: 'stop_instances' }>;

/** Stops a pool now (drained first), or has the daemon stop it after the delay. */
export const stopInstancesHandler: StepHandler<S> = {
  async run(step, ctx) {
    const rt = runtimeOf(ctx);
    const app = ctx.loaded.manifest.name;
    if (step.delayMs > 0) {
      const view = await rt.stopPoolAfter(app, step.pool, step.delayMs);
      return { status: 'done', detail: `pool ${step.pool} stops at ${view.stopAt[step.pool]}` };
    }
    await rt.stopPoolAfter(app, step.pool, null);
    await rt.stopInstances(app, step.instances, true);
    return { status: 'done', detail: `${step.instances.length} instance(s) stopped` };
  },
};
