import type { CanaryRecord } from './canary.js';
import type { Transport } from '../hosts/transport.js';
import type { AppLayout } from '../release/layout.js';
import { isReleaseId } from '../release/id.js';

export type OperationResult = 'succeeded' | 'failed' | 'rolled_back';

/** One line of history.jsonl, and the content of last_deploy.json. */
export interface HistoryEntry {
  deploy_id: string;
  operation: 'deploy' | 'rollback';
  app: string;
  release: string;
  previous: string | null;
  strategy: string;
  version?: string;
  result: OperationResult;
  rolled_back: boolean;
  host: string;
  user: string;
  started: string;
  finished: string;
  duration_ms: number;
  error?: string;
  /** e.g. "recovered by doctor --repair" */
  note?: string;
  /** a canary deploy: every analysis interval, and why it was promoted or aborted */
  canary?: CanaryRecord;
}

// history.jsonl: bounded and rotated, read from its end (history.ts)
export { appendHistory, readHistory } from './history.js';

export async function writeLastDeploy(t: Transport, layout: AppLayout, e: HistoryEntry): Promise<void> {
  await t.fs.writeAtomic(layout.lastDeploy, `${JSON.stringify(e, null, 2)}\n`);
}

export async function readLastDeploy(t: Transport, layout: AppLayout): Promise<HistoryEntry | null> {
  const text = await t.fs.readText(layout.lastDeploy);
  if (!text) return null;
  try {
    return JSON.parse(text) as HistoryEntry;
  } catch {
    return null;
  }
}

/** rollback_point / pre_rollback_release: one release id, or null when absent or not an id. */
export async function readPointer(t: Transport, path: string): Promise<string | null> {
  const text = (await t.fs.readText(path))?.trim();
  return text && isReleaseId(text) ? text : null;
}

export async function writePointer(t: Transport, path: string, id: string | null): Promise<void> {
  if (id === null) await t.fs.remove(path);
  else await t.fs.writeAtomic(path, `${id}\n`);
}

/** The release `current` points at, or null. */
export async function readCurrent(t: Transport, layout: AppLayout): Promise<string | null> {
  const target = await t.fs.readlink(layout.current);
  if (!target) return null;
  const id = target.replace(/\/+$/, '').split('/').pop() ?? '';
  return isReleaseId(id) ? id : null;
}
