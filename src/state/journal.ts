import type { Transport } from '../hosts/transport.js';
import type { Plan } from '../plan/steps.js';

export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'warned' | 'skipped' | 'undoing' | 'undone' | 'undo_failed';

export interface JournalStep {
  title: string;
  status: StepStatus;
  started?: string;
  finished?: string;
  error?: string;
  /** it failed before changing anything: nothing to undo */
  unchanged?: boolean;
  /** where the step had got to, as it reported it (a canary analysis: its stage and failing intervals) */
  progress?: Record<string, number | string | null>;
}

/** A group of a tolerant plan (a rolling instance) that failed and was put back. */
export interface GroupFailure {
  group: string;
  /** index of the step that failed */
  step: number;
  error: string;
  /** the group's steps were undone (false: undoing them failed too, and the plan stopped) */
  undone: boolean;
}

/**
 * The record of an operation in progress (DESIGN §3 journal.json), rewritten atomically at
 * every step, so a crash at any moment can be undone by `doctor --repair` or the next deploy.
 */
export interface Journal {
  version: 1;
  deploy_id: string;
  operation: Plan['operation'];
  pid: number;
  host: string;
  started: string;
  /** running: steps are executing; committed: every step that decides success has passed;
   *  undoing: compensating after a failure; finished: the outcome is decided (`result`), only
   *  hooks and bookkeeping are left, so a crash from here on is recorded, never undone */
  state: 'running' | 'committed' | 'undoing' | 'finished';
  result?: 'succeeded' | 'failed' | 'rolled_back';
  plan: Plan;
  steps: JournalStep[];
  /** groups that failed and were put back while the plan went on (Plan.tolerate) */
  failures?: GroupFailure[];
}

export async function readJournal(t: Transport, path: string): Promise<Journal | null | 'corrupt'> {
  const text = await t.fs.readText(path);
  if (text === null) return null;
  try {
    const j = JSON.parse(text) as Journal;
    if (j.version !== 1 || !Array.isArray(j.steps) || !j.plan) return 'corrupt';
    return j;
  } catch {
    return 'corrupt';
  }
}

export async function writeJournal(t: Transport, path: string, j: Journal): Promise<void> {
  await t.fs.writeAtomic(path, `${JSON.stringify(j)}\n`);
}
