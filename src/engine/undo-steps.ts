// Undoing what an operation did, in reverse, from its journal: the runner after a failure and
// recovery after a crash both use it.
import { errorMessage } from '../errors.js';
import type { Journal } from '../state/journal.js';
import type { RunContext } from './context.js';
import { crashPoint } from './crash.js';
import type { Handlers, StepHandler } from './handlers/types.js';

/**
 * Undoes, in reverse, every step the journal shows as started. Shared by the runner after a
 * failure and by recovery after a crash. False if an undo failed: then it stops there, since
 * undoing earlier steps (removing the release) could pull the ground from under what is live.
 */
export async function undoSteps(
  ctx: RunContext,
  journal: Journal,
  handlers: Handlers,
  info: { liveChanged: boolean },
  save: () => Promise<unknown>,
  /** only these steps (one group of a batch) */
  only: (index: number) => boolean = () => true,
): Promise<boolean> {
  for (let i = journal.steps.length - 1; i >= 0; i--) {
    if (!only(i)) continue;
    const j = journal.steps[i]!;
    if (!['done', 'failed', 'running', 'warned', 'undoing', 'undo_failed'].includes(j.status) || j.unchanged) continue;
    const p = journal.plan.steps[i]!;
    const handler = handlers[p.step.kind] as StepHandler | undefined;
    if (!handler) {
      // a journal an older Deployer wrote (its roll_batch, canary_stage): say so rather than guess
      j.status = 'undo_failed';
      j.error = `step "${p.step.kind}" was written by another version of Deployer, which this one cannot undo: finish it with that version, or put the instances and the router back by hand and remove ${ctx.layout.journal}`;
      ctx.emit({ type: 'undo_end', index: i, title: j.title, ok: false, durationMs: 0, error: j.error });
      await save();
      return false;
    }
    if (!handler.undo) continue;
    crashPoint(`undo:${i}:before`);
    j.status = 'undoing';
    await save();
    ctx.emit({ type: 'undo_start', index: i, title: j.title });
    const started = ctx.clock.monotonic();
    try {
      await handler.undo(p.step, ctx, info);
      j.status = 'undone';
      ctx.emit({ type: 'undo_end', index: i, title: j.title, ok: true, durationMs: ctx.clock.monotonic() - started });
    } catch (e) {
      j.status = 'undo_failed';
      j.error = ctx.redactor.redact(errorMessage(e));
      ctx.emit({ type: 'undo_end', index: i, title: j.title, ok: false, durationMs: ctx.clock.monotonic() - started, error: j.error });
      await save();
      return false;
    }
    await save();
    crashPoint(`undo:${i}:after`);
  }
  return true;
}
