import type { Transport } from '../hosts/transport.js';
import type { AppLayout } from '../release/layout.js';
import { listReleases, type ReleaseInfo } from '../release/list.js';
import { readCurrent, readPointer } from '../state/records.js';

/** What is on the host now: the input of every planner besides the manifest. */
export interface Observed {
  current: string | null;
  rollbackPoint: string | null;
  preRollback: string | null;
  releases: ReleaseInfo[];
}

export async function observe(t: Transport, layout: AppLayout): Promise<Observed> {
  const [current, rollbackPoint, preRollback, releases] = await Promise.all([
    readCurrent(t, layout),
    readPointer(t, layout.rollbackPoint),
    readPointer(t, layout.preRollbackRelease),
    listReleases(t, layout),
  ]);
  return { current, rollbackPoint, preRollback, releases };
}
