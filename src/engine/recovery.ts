import { clearCanaryFiles } from '../state/canary.js';
import type { Journal } from '../state/journal.js';
import type { Observed } from '../strategies/observe.js';
import { findHistoryEntry } from '../state/history.js';
import { appendHistory, writeLastDeploy, type HistoryEntry } from '../state/records.js';
import { writeJournal } from '../state/journal.js';
import type { RunContext } from './context.js';
import { defaultHandlers } from './handlers/index.js';
import type { Handlers } from './handlers/types.js';
import { undoSteps } from './undo-steps.js';

export interface Recovery {
  deployId: string;
  operation: Journal['operation'];
  release: string;
  /** finished: it had succeeded, only bookkeeping was missing; recorded: it had failed and was
   *  dealt with, only bookkeeping was missing; undone: its steps were undone */
  action: 'finished' | 'recorded' | 'undone' | 'undo_failed';
  steps: string[];
}

/** What an interrupted operation's journal says, in one line, for doctor and warnings. */
export function describeJournal(j: Journal): string {
  const last = [...j.steps.entries()].filter(([, s]) => s.status !== 'pending').pop();
  const at = last ? `at step ${last[0] + 1}/${j.steps.length} (${last[1].title}: ${last[1].status})` : 'before its first step';
  const after = j.state === 'committed' ? ', after it had succeeded' : j.state === 'finished' ? `, after it had ${j.result === 'rolled_back' ? 'been rolled back' : 'failed'}` : '';
  const failed = j.failures?.length ? `; ${j.failures.length} instance(s) had failed and been put back (${j.failures.map((f) => f.group).join(', ')})` : '';
  const p = last?.[1].progress;
  const canary = p && typeof p.stage === 'number' ? `; canary at stage ${p.stage}/${p.stages}, ${p.failures} failing interval(s) in a row` : '';
  return `${j.operation} ${j.deploy_id} of release ${j.plan.release} (pid ${j.pid} on ${j.host}, started ${j.started}) stopped ${at}${after}${failed}${canary}`;
}

const NOTES: Record<Recovery['action'], string> = {
  finished: 'it had succeeded; recorded',
  recorded: 'its outcome was decided; recorded',
  undone: 'its steps were undone',
  undo_failed: 'undoing failed',
};

/** How far back recovery looks for the entry of the operation it recovers. */
const RECENT_ENTRIES = 10;

/**
 * Finishes what a crashed operation left. One that had committed, or whose failure was already
 * dealt with, only needs its history entry; any other is undone step by step in reverse, so
 * the host is as it was before it started.
 */
export async function recoverJournal(outer: RunContext, j: Journal, by: string, handlers: Handlers = defaultHandlers): Promise<Recovery> {
  const ctx: RunContext = { ...outer, plan: j.plan, signal: undefined };
  const started = ctx.clock.now();
  let action: Recovery['action'];
  if (j.state === 'committed') action = 'finished';
  else if (j.state === 'finished') action = 'recorded';
  else {
    const touched = (i: number) => ['done', 'failed', 'running', 'warned', 'undoing', 'undo_failed'].includes(j.steps[i]!.status) && !j.steps[i]!.unchanged;
    const liveChanged = j.plan.steps.some((p, i) => p.live && touched(i));
    j.state = 'undoing';
    const ok = await undoSteps(ctx, j, handlers, { liveChanged }, () => writeJournal(ctx.transport, ctx.layout.journal, j));
    action = ok ? 'undone' : 'undo_failed';
  }
  const liveUndone = j.plan.steps.some((p, i) => p.live && j.steps[i]!.status === 'undone');
  const result: HistoryEntry['result'] = action === 'finished' ? 'succeeded' : action === 'recorded' ? (j.result ?? 'failed') : liveUndone && j.plan.previous ? 'rolled_back' : 'failed';
  const entry: HistoryEntry = {
    deploy_id: j.deploy_id,
    operation: j.operation,
    app: j.plan.app,
    release: j.plan.release,
    previous: j.plan.previous,
    strategy: j.plan.strategy,
    result,
    rolled_back: result === 'rolled_back',
    host: ctx.hostName,
    user: await ctx.transport.user(),
    started: j.started,
    finished: started.toISOString(),
    duration_ms: Math.max(0, started.getTime() - Date.parse(j.started)),
    ...(action === 'finished' ? {} : { error: `interrupted (process ${j.pid} gone)` }),
    note: `recovered by ${by}: ${NOTES[action]}`,
  };
  // an entry written just before the crash is among the last few: the history is not read whole
  if (!(await findHistoryEntry(ctx.transport, ctx.layout, j.deploy_id, RECENT_ENTRIES))) {
    await appendHistory(ctx.transport, ctx.layout, entry);
    if (action !== 'finished') await writeLastDeploy(ctx.transport, ctx.layout, entry);
  }
  if (action !== 'undo_failed') await ctx.transport.fs.remove(ctx.layout.journal);
  // a canary it was running is over either way: its status and any pending promote/abort go
  // (kept while undoing failed: it still says where the canary stands)
  if (action !== 'undo_failed' && j.plan.steps.some((p) => p.step.kind === 'canary_analysis')) await clearCanaryFiles(ctx.transport, ctx.layout);
  return { deployId: j.deploy_id, operation: j.operation, release: j.plan.release, action, steps: j.steps.map((s) => `${s.title}: ${s.status}`) };
}

/**
 * The state a real run will plan from after recovering `j` first (for --dry-run): what undoing
 * the journal's started steps puts back. A committed or finished journal changes nothing.
 */
export function projectRecovery(observed: Observed, j: Journal): Observed {
  if (j.state === 'committed' || j.state === 'finished') return observed;
  const out: Observed = { ...observed, releases: [...observed.releases] };
  const started = (i: number) => !['pending', 'skipped', 'undone'].includes(j.steps[i]!.status);
  for (let i = j.plan.steps.length - 1; i >= 0; i--) {
    if (!started(i)) continue;
    const step = j.plan.steps[i]!.step;
    if (step.kind === 'prepare_release') out.releases = out.releases.filter((r) => r.id !== step.release || r.failed);
    if (step.kind === 'activate') {
      out.current = step.previous;
      if (step.pointersBefore.rollback_point !== undefined) out.rollbackPoint = step.pointersBefore.rollback_point;
      if (step.pointersBefore.pre_rollback_release !== undefined) out.preRollback = step.pointersBefore.pre_rollback_release;
    }
  }
  return out;
}
