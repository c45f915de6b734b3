import type { Transport } from '../hosts/transport.js';
import type { AppLayout } from '../release/layout.js';
import { listReleases, type ReleaseInfo } from '../release/list.js';
import { readCurrent, readPointer } from '../state/records.js';

export interface ObservedInstance {
  id: string;
  port: number;
  release: string;
  /** the supervisor's state: running, backoff, ... */
  state: string;
}

export interface ObservedPool {
  name: string;
  weight: number;
  instances: ObservedInstance[];
}

/** The app in the embedded runtime: its pools, their weights and instances. */
export interface RuntimeObserved {
  pools: ObservedPool[];
}

/** What is on the host now: the input of every planner besides the manifest. */
export interface Observed {
  current: string | null;
  rollbackPoint: string | null;
  preRollback: string | null;
  releases: ReleaseInfo[];
  /** null: the app does not use the runtime, or has nothing in it yet */
  runtime: RuntimeObserved | null;
}

export async function observe(t: Transport, layout: AppLayout, runtime?: () => Promise<RuntimeObserved | null>): Promise<Observed> {
  const [current, rollbackPoint, preRollback, releases, rt] = await Promise.all([
    readCurrent(t, layout),
    readPointer(t, layout.rollbackPoint),
    readPointer(t, layout.preRollbackRelease),
    listReleases(t, layout),
    runtime ? runtime() : Promise.resolve(null),
  ]);
  return { current, rollbackPoint, preRollback, releases, runtime: rt };
}

/** The pool serving traffic: the one with the highest weight (null: none). */
export function livePool(o: Observed): ObservedPool | null {
  const pools = (o.runtime?.pools ?? []).filter((p) => p.weight > 0 && p.instances.length > 0);
  pools.sort((a, b) => b.weight - a.weight);
  return pools[0] ?? null;
}
