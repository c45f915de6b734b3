// The canary in progress, as files in .deploy_state: the deploy writes canary.json (stage,
// weights, last verdicts) for `status`, `promote` and `abort`; those write canary_command.json,
// which the deploy reads, acts on and acknowledges in canary.json. Files rather than a socket, so
// the same works on a remote host over SSH.
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
  stage: {
    index: number;
    total: number;
    title: string;
    weight: number;
    started: string;
    /** when the stage can end (null: it waits for `deployer promote`) */
    ends_at: string | null;
    /** why it waits beyond its time: manual, or no passing interval yet */
    paused: null | 'manual' | 'inconclusive';
  };
  weights: Record<string, number>;
  /** consecutive failing intervals, and the limit that aborts */
  failures: number;
  failure_limit: number;
  intervals: number;
  /** the newest intervals, oldest first */
  last: IntervalResult[];
  /** the command most recently acted on */
  acked?: { id: string; action: CanaryAction; at: string; note: string };
  updated: string;
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

export async function readCanaryCommand(t: Transport, layout: AppLayout): Promise<CanaryCommand | null> {
  return parse<CanaryCommand>(await t.fs.readText(layout.canaryCommand));
}

export async function writeCanaryCommand(t: Transport, layout: AppLayout, c: CanaryCommand): Promise<void> {
  await t.fs.writeAtomic(layout.canaryCommand, `${JSON.stringify(c)}\n`);
}

export async function clearCanaryFiles(t: Transport, layout: AppLayout): Promise<void> {
  await t.fs.remove(layout.canaryCommand);
  await t.fs.remove(layout.canaryStatus);
}
