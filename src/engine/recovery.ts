import type { Journal } from '../state/journal.js';
import { appendHistory, readHistory, writeLastDeploy, type HistoryEntry } from '../state/records.js';
import { writeJournal } from '../state/journal.js';
import type { RunContext } from './context.js';
import { defaultHandlers } from './handlers/index.js';
import type { Handlers } from './handlers/types.js';
import { undoSteps } from './runner.js';

export interface Recovery {
  deployId: string;
  operation: Journal['operation'];
  release: string;
  /** finished: it had committed, only bookkeeping was missing; undone: its steps were undone */
  action: 'finished' | 'undone' | 'undo_failed';
  steps: string[];
}

/** What an interrupted operation's journal says, in one line, for doctor and warnings. */
export function describeJournal(j: Journal): string {
  const last = [...j.steps.entries()].filter(([, s]) => s.status !== 'pending').pop();
  const at = last ? `at step ${last[0] + 1}/${j.steps.length} (${last[1].title}: ${last[1].status})` : 'before its first step';
  return `${j.operation} ${j.deploy_id} of release ${j.plan.release} (pid ${j.pid} on ${j.host}, started ${j.started}) stopped ${at}${j.state === 'committed' ? ', after it had succeeded' : ''}`;
}

/**
 * Finishes what a crashed operation left: a committed one only needs its history entry; any
 * other is undone step by step in reverse, so the host is as it was before it started.
 */
export async function recoverJournal(outer: RunContext, j: Journal, by: string, handlers: Handlers = defaultHandlers): Promise<Recovery> {
  const ctx: RunContext = { ...outer, plan: j.plan, signal: undefined };
  const started = ctx.clock.now();
  let action: Recovery['action'];
  const touched = (i: number) => ['done', 'failed', 'running', 'warned', 'undoing', 'undo_failed'].includes(j.steps[i]!.status);
  if (j.state === 'committed') action = 'finished';
  else {
    const liveChanged = j.plan.steps.some((p, i) => p.live && touched(i));
    j.state = 'undoing';
    const ok = await undoSteps(ctx, j, handlers, { liveChanged }, () => writeJournal(ctx.transport, ctx.layout.journal, j));
    action = ok ? 'undone' : 'undo_failed';
  }
  const entry: HistoryEntry = {
    deploy_id: j.deploy_id,
    operation: j.operation,
    app: j.plan.app,
    release: j.plan.release,
    previous: j.plan.previous,
    strategy: j.plan.strategy,
    result: action === 'finished' ? 'succeeded' : 'failed',
    rolled_back: action === 'undone' && j.plan.steps.some((p, i) => p.live && j.steps[i]!.status === 'undone'),
    host: ctx.hostName,
    user: await ctx.transport.user(),
    started: j.started,
    finished: started.toISOString(),
    duration_ms: Math.max(0, started.getTime() - Date.parse(j.started)),
    error: action === 'finished' ? undefined : `interrupted (process ${j.pid} gone)`,
    note: `recovered by ${by}: ${action === 'finished' ? 'it had succeeded; recorded' : action === 'undone' ? 'its steps were undone' : 'undoing failed'}`,
  };
  const history = await readHistory(ctx.transport, ctx.layout);
  if (!history.some((h) => h.deploy_id === j.deploy_id)) {
    await appendHistory(ctx.transport, ctx.layout, entry);
    if (action !== 'finished') await writeLastDeploy(ctx.transport, ctx.layout, entry);
  }
  if (action !== 'undo_failed') await ctx.transport.fs.remove(ctx.layout.journal);
  return { deployId: j.deploy_id, operation: j.operation, release: j.plan.release, action, steps: j.steps.map((s) => `${s.title}: ${s.status}`) };
}
