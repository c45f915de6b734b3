import type { Step } from '../../plan/steps.js';
import { checkRelease } from './health-check.js';
import type { StepHandler } from './types.js';

type S = Extract<Step, { kind: 'smoke_test' }>;

/** blue_green.smoke_tests against the idle slot's own ports, before it takes any traffic. */
export const smokeTestHandler: StepHandler<S> = {
  async run(step, ctx) {
    const detail = await checkRelease(ctx.loaded.smokeTests, step.release, ctx, { ports: step.ports, pool: step.pool }).catch((e: Error) => {
      throw Object.assign(e, { message: e.message.replace(/^health check failed/, 'smoke tests failed') });
    });
    return { status: 'done', detail };
  },
};
