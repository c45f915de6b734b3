import type { Step } from '../../plan/steps.js';
import type { StepHandler } from './types.js';
import { startAndWait, stopAndDeclare } from './runtime-ops.js';

type S = Extract<Step, { kind: 'start_instances' }>;

export const startInstancesHandler: StepHandler<S> = {
  async run(step, ctx) {
    await startAndWait(ctx, step.pool, step.release, step.instances);
    return { status: 'done', detail: `${step.instances.length} instance(s) healthy in ${step.pool}` };
  },
  async undo(step, ctx) {
    await stopAndDeclare(ctx, step.instances.map((i) => i.id), step.pool);
  },
};
