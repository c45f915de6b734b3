import { errorMessage } from '../../errors.js';
import type { RollingInstance, Step } from '../../plan/steps.js';
import { routerOf, type RunContext } from '../context.js';
import { checkRelease } from './health-check.js';
import { instancesNow, startAndWait, stopAndDeclare } from './runtime-ops.js';
import type { StepHandler } from './types.js';

type S = Extract<Step, { kind: 'roll_batch' }>;

/**
 * Moves one instance to a release in place: drained out of the router (in-flight requests
 * finish), stopped, started on the release but held out of traffic, and put back in rotation
 * only once the router's check and every health check pass.
 */
async function rollOne(ctx: RunContext, inst: RollingInstance, release: string): Promise<void> {
  const router = routerOf(ctx);
  // an instance already gone (an undo after a failure) has nothing to drain
  await router.drain(inst.id, ctx.loaded.manifest.deployment.rolling?.drain_timeout ?? 30_000).catch(() => undefined);
  await stopAndDeclare(ctx, [inst.id]);
  await startAndWait(ctx, inst.pool, release, [inst]);
  if (ctx.loaded.checks.length > 0) await checkRelease(ctx.loaded.checks, release, ctx, { ports: [inst.port], pool: inst.pool });
  await router.enable(inst.id);
}

/** Rolling: one batch. A failed instance goes back to its old release; too many failures stop the deploy. */
export const rollBatchHandler: StepHandler<S> = {
  async run(step, ctx) {
    const failures = (ctx.data.rollFailures ??= []);
    const results = await Promise.all(
      step.instances.map((inst) =>
        rollOne(ctx, inst, step.release).then(
          () => null,
          (e: unknown) => ({ inst, error: errorMessage(e) }),
        ),
      ),
    );
    for (const f of results) {
      if (!f) continue;
      ctx.emit({ type: 'log', level: 'warn', message: `${f.inst.id} failed on ${step.release}: ${f.error}; putting it back on ${f.inst.from}` });
      try {
        await rollOne(ctx, f.inst, f.inst.from);
      } catch (e) {
        throw new Error(`${f.inst.id} failed on ${step.release} (${f.error}) and could not be put back on ${f.inst.from}: ${errorMessage(e)}`, { cause: e });
      }
      failures.push(`${f.inst.id}: ${f.error}`);
    }
    if (failures.length >= step.maxFailures) {
      throw new Error(`${failures.length} instance(s) failed (max_failures ${step.maxFailures}): ${failures.join('; ')}`);
    }
    const failedHere = results.filter(Boolean).length;
    if (step.delayAfterMs > 0) await ctx.clock.sleep(step.delayAfterMs, ctx.signal);
    return { status: 'done', detail: failedHere ? `${step.instances.length - failedHere}/${step.instances.length} moved; ${failedHere} kept on the old release` : `${step.instances.length} instance(s) on ${step.release}` };
  },

  /** Puts back every instance of the batch not running its old release, or not running at all. */
  async undo(step, ctx) {
    const now = await instancesNow(ctx);
    const settled = (i: RollingInstance) => {
      const n = now.get(i.id);
      return n !== undefined && n.release === i.from && n.state === 'running' && !n.held;
    };
    await Promise.all(step.instances.filter((i) => !settled(i)).map((i) => rollOne(ctx, i, i.from)));
  },
};
