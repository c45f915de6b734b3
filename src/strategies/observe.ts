// What planners are given about the host: pure types (engine/observe.ts reads them).
import type { ReleaseInfo } from '../release/list.js';

export interface ObservedInstance {
  id: string;
  port: number;
  release: string;
  /** the instance manager's state: running, backoff, ... */
  state: string;
}

/** A pool of the app's instances, with its share of traffic in the router (0 without one). */
export interface ObservedPool {
  name: string;
  weight: number;
  instances: ObservedInstance[];
}

/** What is on the host now: the input of every planner besides the manifest. */
export interface Observed {
  current: string | null;
  rollbackPoint: string | null;
  preRollback: string | null;
  releases: ReleaseInfo[];
  /** the app's pools (instance manager + router); null: the app does not run pools, or has nothing yet */
  pools: ObservedPool[] | null;
}

/** The pool serving traffic: the one with the highest weight (null: none). */
export function livePool(o: Observed): ObservedPool | null {
  const pools = (o.pools ?? []).filter((p) => p.weight > 0 && p.instances.length > 0);
  pools.sort((a, b) => b.weight - a.weight);
  return pools[0] ?? null;
}
