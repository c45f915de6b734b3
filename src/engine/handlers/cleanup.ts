import type { Step } from '../../plan/steps.js';
import { listReleases, planCleanup } from '../../release/list.js';
import { readCurrent, readPointer } from '../../state/records.js';
import type { Transport } from '../../hosts/transport.js';
import type { AppLayout } from '../../release/layout.js';
import type { RunContext } from '../context.js';
import type { StepHandler } from './types.js';

type S = Extract<Step, { kind: 'cleanup' }>;

/** Releases cleanup must never remove, with the reason. */
export async function pinnedReleases(t: Transport, layout: AppLayout, inProgress?: string): Promise<Map<string, string>> {
  const pinned = new Map<string, string>();
  const current = await readCurrent(t, layout);
  if (current) pinned.set(current, 'live');
  const rb = await readPointer(t, layout.rollbackPoint);
  if (rb && !pinned.has(rb)) pinned.set(rb, 'rollback point');
  const fwd = await readPointer(t, layout.preRollbackRelease);
  if (fwd && !pinned.has(fwd)) pinned.set(fwd, 'roll-forward point');
  if (inProgress && !pinned.has(inProgress)) pinned.set(inProgress, 'in progress');
  return pinned;
}

export async function cleanupReleases(t: Transport, layout: AppLayout, keep: number, inProgress?: string): Promise<string[]> {
  const plan = planCleanup(await listReleases(t, layout), keep, await pinnedReleases(t, layout, inProgress));
  for (const r of plan.remove) await t.fs.remove(r.dir);
  return plan.remove.map((r) => (r.failed ? `${r.id}.failed` : r.id));
}

export const cleanupHandler: StepHandler<S> = {
  async run(step, ctx: RunContext) {
    const removed = await cleanupReleases(ctx.transport, ctx.layout, step.keep, ctx.plan?.release);
    await ctx.transport.fs.remove(ctx.layout.tmp);
    return removed.length ? { status: 'done', detail: `removed ${removed.join(', ')}` } : { status: 'skipped', detail: 'nothing to remove' };
  },
};
