// The canary in progress, as files in .deploy_state: the deploy writes canary.json (phase,
// stage, weights, last verdicts) for `status`, `promote` and `abort`; each of those writes one
// file in canary_commands/, which the deploy takes in order, acts on (or refuses) and
// acknowledges in canary.json. Files rather than a socket, so the same works on a remote host
// over SSH; one file per command, so two people acting at once never lose one.
import { join } from 'node:path';
import type { IntervalResult } from '../analysis/types.js';
import type { Transport } from '../hosts/transport.js';
import type { AppLayout } from '../release/layout.js';

export type CanaryAction = 'promote' | 'abort';

export interface CanaryCommand {
  /** random, so the deploy acknowledges this request and not an older one */
  id: string;
  deploy_id: string;
  action: CanaryAction;
  /** promote: skip every remaining stage and promote now */
  full?: boolean;
  /** the stage the requester saw: a plain promote for a stage that is already over does nothing */
  stage?: number;
  /** user@host of who asked */
  by: string;
  at: string;
}

export interface CanaryStatus {
  deploy_id: string;
  app: string;
  release: string;
  pool: string;
  baseline: { pool: string; release: string | null };
  pid: number;
  /**
   * starting: before the first stage; stage: in one; between: between two (a scale-up);
   * promoting: after the last (scale-up, switch); promoted: traffic has moved; ended: the deploy is over
   */
  phase: 'starting' | 'stage' | 'between' | 'promoting' | 'promoted' | 'ended';
  stage: null | {
    index: number;
    total: number;
    title: string;
    weight: number;
    started: string;
    /** when the stage can end (null: it waits for `deployer promote`) */
    ends_at: string | null;
    /** why it waits beyond its time: manual, no passing interval yet, or its last interval failed */
    paused: null | 'manual' | 'inconclusive' | 'failing';
  };
  weights: Record<string, number>;
  /** consecutive failing intervals, and the limit that aborts */
  failures: number;
  failure_limit: number;
  intervals: number;
  /** the newest intervals, oldest first */
  last: IntervalResult[];
  /** the commands most recently answered, newest last: done, or refused and why */
  acks: CanaryAck[];
  updated: string;
}

export interface CanaryAck {
  id: string;
  action: CanaryAction;
  full?: boolean;
  /** user@host of who asked */
  by: string;
  at: string;
  /** false: refused (nothing was done) */
  done: boolean;
  note: string;
}

function parse<T>(text: string | null): T | null {
  if (!text) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

export async function readCanaryStatus(t: Transport, layout: AppLayout): Promise<CanaryStatus | null> {
  return parse<CanaryStatus>(await t.fs.readText(layout.canaryStatus));
}

export async function writeCanaryStatus(t: Transport, layout: AppLayout, s: CanaryStatus): Promise<void> {
  await t.fs.writeAtomic(layout.canaryStatus, `${JSON.stringify(s, null, 2)}\n`);
}

/** Where command `c` waits: its own file, named so that listing sorts by time. */
export const canaryCommandFile = (layout: AppLayout, c: CanaryCommand): string => join(layout.canaryCommands, `${Date.parse(c.at)}-${c.id}.json`);

/** Leaves a command for the deploy. */
export async function writeCanaryCommand(t: Transport, layout: AppLayout, c: CanaryCommand): Promise<void> {
  await t.fs.mkdirp(layout.canaryCommands);
  await t.fs.writeAtomic(canaryCommandFile(layout, c), `${JSON.stringify(c)}\n`);
}

/** Takes command `c` back if the deploy has not taken it yet; false when it has. */
export async function withdrawCanaryCommand(t: Transport, layout: AppLayout, c: CanaryCommand): Promise<boolean> {
  const file = canaryCommandFile(layout, c);
  try {
    await t.fs.rename(file, `${file}.withdrawn`);
  } catch {
    return false;
  }
  await t.fs.remove(`${file}.withdrawn`);
  return true;
}

/**
 * Takes (claims by a rename, reads, removes) the commands waiting, oldest first. Files that do
 * not parse are dropped too; temp files of a write in progress are left for the next call.
 */
export async function takeCanaryCommands(t: Transport, layout: AppLayout): Promise<CanaryCommand[]> {
  const names = (await t.fs.list(layout.canaryCommands).catch(() => [] as string[])).filter((n) => /^\d+-[\w-]+\.json$/.test(n)).sort();
  const out: CanaryCommand[] = [];
  for (const n of names) {
    const path = join(layout.canaryCommands, n);
    const taken = `${path}.taken`;
    try {
      // claimed by a rename, so a requester withdrawing it at the same moment cannot have it both ways
      await t.fs.rename(path, taken);
    } catch {
      continue; // withdrawn meanwhile, or not ours to move
    }
    try {
      const c = parse<CanaryCommand>(await t.fs.readText(taken));
      if (c && (c.action === 'promote' || c.action === 'abort')) out.push(c);
    } catch {
      // not a file we can read (a directory, another user's): not a command
    }
    await t.fs.remove(taken).catch(() => undefined);
  }
  return out;
}

export async function clearCanaryFiles(t: Transport, layout: AppLayout): Promise<void> {
  await t.fs.remove(layout.canaryCommands);
  await t.fs.remove(layout.canaryStatus);
}

/** One analysed interval, with the stage it belonged to. */
export type StagedInterval = IntervalResult & { stage: number; weight: number };

/** What the history records about a canary: every interval's values and verdict, and its end. */
export interface CanaryRecord {
  pool: string;
  baseline: { pool: string; release: string | null };
  outcome: 'promoted' | 'aborted' | 'failed' | 'in_progress';
  reason?: string;
  stages_done: number;
  /** the newest intervals (at most 200), and how many there were in all */
  intervals: StagedInterval[];
  intervals_total: number;
  /** the promote/abort requests it answered: who, when, what was done or why not */
  commands: CanaryAck[];
}
