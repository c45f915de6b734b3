import type { InstanceRef } from '../../plan/steps.js';
import { startTimeout } from '../../strategies/pools.js';
import { instancesOf, routerOf, type RunContext } from '../context.js';

/**
 * Starts a release's instances and waits until each is healthy. A process that exits first
 * fails it at once, with the end of its log. In a pool that has traffic they start out of
 * rotation (the router's contract), until `enable`.
 */
export async function startAndWait(ctx: RunContext, pool: string, release: string, refs: InstanceRef[]): Promise<void> {
  await instancesOf(ctx).start(pool, release, refs);
  await declarePool(ctx, pool);
  await waitAllHealthy(ctx, refs.map((r) => r.id));
}

/** Stops instances, and tells the router what is left of their pools. */
export async function stopAndDeclare(ctx: RunContext, ids: string[], pool: string): Promise<void> {
  const instances = instancesOf(ctx);
  // the step's pool is declared whatever runs now: a step run again after a crash between the
  // stop and the declaration still tells the router
  const pools = new Set([pool, ...(await instances.list()).filter((i) => ids.includes(i.id)).map((i) => i.pool)]);
  await instances.stop(ids);
  for (const pool of pools) await declarePool(ctx, pool);
}

/** The router's targets of a pool become the instances the manager runs in it (the embedded router: checks they are its own). */
export async function declarePool(ctx: RunContext, pool: string): Promise<void> {
  const targets = (await instancesOf(ctx).list()).filter((i) => i.pool === pool).map((i) => ({ id: i.id, host: i.host, port: i.port, release: i.release }));
  await routerOf(ctx).declarePools([{ name: pool, targets }]);
}

/**
 * After a restart-only manager restarted everything in `pool` (recreate): the router's pools
 * become what runs, and all traffic goes to that pool.
 */
export async function routeAllTo(ctx: RunContext, pool: string): Promise<void> {
  const router = routerOf(ctx);
  const running = await instancesOf(ctx).list();
  const declared = (name: string) => ({ name, targets: running.filter((i) => i.pool === name).map((i) => ({ id: i.id, host: i.host, port: i.port, release: i.release })) });
  // the pool first and all traffic to it, then what is left of the others: never a moment with nothing in rotation
  await router.declarePools([declared(pool)]);
  await router.setWeights({ [pool]: 100 });
  const others = new Set([...running.map((i) => i.pool), ...((await router.live())?.pools ?? []).map((p) => p.name)]);
  others.delete(pool);
  if (others.size > 0) await router.declarePools([...others].map(declared));
}

export function waitAllHealthy(ctx: RunContext, ids: string[]): Promise<void> {
  return instancesOf(ctx).waitHealthy(ids, startTimeout(ctx.loaded));
}

/** A pool's targets in the router's rotation (not held out of it), with the router's own health verdict where it checks (null: it does not say). */
export async function servingTargetsHealth(ctx: RunContext, pool: string): Promise<{ id: string; health: string | null }[]> {
  const live = await routerOf(ctx).live();
  if (live) return (live.pools.find((p) => p.name === pool)?.targets ?? []).filter((t) => t.state !== 'down').map((t) => ({ id: t.id, health: t.health }));
  return (await instancesOf(ctx).list()).filter((i) => i.pool === pool).map((i) => ({ id: i.id, health: null }));
}
