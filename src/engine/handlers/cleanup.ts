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

/** Deploy logs kept in .deploy_state/logs (the newest; history.jsonl keeps every operation). */
export const KEEP_LOGS = 100;

/** Removes the oldest deploy logs beyond KEEP_LOGS (their names start with a sortable time). */
export async function pruneLogs(t: Transport, layout: AppLayout, keep = KEEP_LOGS): Promise<number> {
  const logs = (await t.fs.list(layout.logs)).filter((n) => n.endsWith('.jsonl')).sort();
  const old = logs.slice(0, Math.max(0, logs.length - keep));
  for (const name of old) await t.fs.remove(`${layout.logs}/${name}`);
  return old.length;
}

export const cleanupHandler: StepHandler<S> = {
  async run(step, ctx: RunContext) {
    const removed = await cleanupReleases(ctx.transport, ctx.layout, step.keep, ctx.plan?.release);
    await pruneLogs(ctx.transport, ctx.layout);
    await ctx.transport.fs.remove(ctx.layout.tmp);
    return removed.length ? { status: 'done', detail: `removed ${removed.join(', ')}` } : { status: 'skipped', detail: 'nothing to remove' };
  },
};
