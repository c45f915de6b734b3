import type { Transport } from '../hosts/transport.js';
import type { AppLayout } from '../release/layout.js';
import { listReleases } from '../release/list.js';
import type { Router } from '../routers/types.js';
import type { InstanceManager } from '../services/instance-manager.js';
import { readCurrent, readPointer } from '../state/records.js';
import type { Observed, ObservedPool } from '../strategies/observe.js';

/** Reads what planners are given: the release pointers and list, and the app's pools when it runs some. */
export async function observe(t: Transport, layout: AppLayout, pools?: () => Promise<ObservedPool[] | null>): Promise<Observed> {
  const [current, rollbackPoint, preRollback, releases, observedPools] = await Promise.all([
    readCurrent(t, layout),
    readPointer(t, layout.rollbackPoint),
    readPointer(t, layout.preRollbackRelease),
    listReleases(t, layout),
    pools ? pools() : Promise.resolve(null),
  ]);
  return { current, rollbackPoint, preRollback, releases, pools: observedPools };
}

/**
 * The app's pools: the instances the manager runs, with each pool's weight as the router serves
 * it (null: neither has anything of the app).
 */
export async function observePools(instances: InstanceManager, router: Router | undefined): Promise<ObservedPool[] | null> {
  const [list, live] = await Promise.all([instances.list(), router ? router.live() : Promise.resolve(null)]);
  if (live === null && list.length === 0) return null;
  const weights = new Map((live?.pools ?? []).map((p) => [p.name, p.weight]));
  const names = new Set([...weights.keys(), ...list.map((i) => i.pool)]);
  return [...names].sort().map((name) => ({
    name,
    weight: weights.get(name) ?? 0,
    instances: list.filter((i) => i.pool === name).map((i) => ({ id: i.id, port: i.port, release: i.release, state: i.state })),
  }));
}
