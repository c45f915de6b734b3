import { join } from 'node:path';
import { operationEnv } from '../env.js';
import type { Pointers, Step } from '../../plan/steps.js';
import { readCurrent, writePointer } from '../../state/records.js';
import { crashPoint } from '../crash.js';
import type { RunContext } from '../context.js';
import { routeAllTo } from './runtime-ops.js';
import type { StepHandler } from './types.js';

type S = Extract<Step, { kind: 'activate' }>;

export async function setPointers(ctx: RunContext, p: Pointers): Promise<void> {
  if (p.rollback_point !== undefined) await writePointer(ctx.transport, ctx.layout.rollbackPoint, p.rollback_point);
  if (p.pre_rollback_release !== undefined) await writePointer(ctx.transport, ctx.layout.preRollbackRelease, p.pre_rollback_release);
}

/** Points `current` at a release (atomically) and has the service manager pick it up. */
export async function switchTo(ctx: RunContext, release: string): Promise<void> {
  await ctx.transport.fs.symlinkAtomic(ctx.layout.currentTarget(release), ctx.layout.current);
}

async function restart(ctx: RunContext, release: string): Promise<void> {
  const releaseDir = ctx.layout.release(release);
  await ctx.service.restart({
    transport: ctx.transport,
    appRoot: ctx.layout.root,
    releaseDir,
    releaseId: release,
    env: operationEnv(ctx, 'restart', release, releaseDir),
    onLine: (line) => ctx.emit({ type: 'log', level: 'debug', message: line, source: `service ${ctx.service.kind}` }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  // the instances it restarted run in pool stable: a router in front (nginx, HAProxy) is told
  if (ctx.instances && ctx.router) await routeAllTo(ctx, 'stable');
}

export const activateHandler: StepHandler<S> = {
  async run(step, ctx) {
    await setPointers(ctx, step.pointers);
    await switchTo(ctx, step.release);
    crashPoint('activate:switched');
    await restart(ctx, step.release);
    return { status: 'done', detail: `current -> ${join('releases', step.release)}` };
  },

  async undo(step, ctx) {
    const current = await readCurrent(ctx.transport, ctx.layout);
    if (step.previous === null) {
      // first deploy: there is nothing to go back to; take the failed release out of `current`
      if (current === step.release) await ctx.transport.fs.remove(ctx.layout.current);
      ctx.emit({ type: 'log', level: 'warn', message: 'no previous release to go back to: `current` removed' });
    } else if (current !== step.previous) {
      await switchTo(ctx, step.previous);
      await restart(ctx, step.previous);
    }
    await setPointers(ctx, step.pointersBefore);
  },
};
