// The changes of router.type haproxy as pure edits of its state: haproxy.ts writes what they
// leave and brings HAProxy to it, haproxy-preview.ts describes it. Each changes the state given.
import { RouterError } from '../errors.js';
import { checkName } from './haproxy-commands.js';
import { poolOf, type HaproxyState } from './haproxy-state.js';
import { poolsAfter } from './preview.js';
import type { PoolTargets, RouterAction } from './types.js';

const KEY = 'router.haproxy.backend';

/** The named pools hold exactly these targets; a target new to a pool with traffic waits in maintenance. */
export function declareEdit(s: HaproxyState, pools: PoolTargets[]): void {
  const wasOut = { ...s.out };
  for (const p of pools) {
    checkName(KEY, 'pool', p.name);
    const old = s.pools.find((q) => q.name === p.name);
    for (const t of old?.targets ?? []) delete s.out[t.id];
    s.pools = s.pools.filter((q) => q !== old);
    if (p.targets.length === 0) {
      // a pool with traffic keeps its share while it has no target (rolling one instance, or a
      // whole batch): the targets that come back wait in maintenance until enable()
      if ((s.weights[p.name] ?? 0) > 0) s.pools.push({ name: p.name, targets: [] });
      else delete s.weights[p.name];
      continue;
    }
    const oldIds = new Set(old?.targets.map((t) => t.id));
    for (const t of p.targets) {
      checkName(KEY, 'server', t.id);
      const other = poolOf(s, t.id);
      if (other) throw new RouterError(KEY, `target ${t.id} is already in pool ${other.name}`);
      // a target new to a pool that has traffic waits in maintenance for enable (after its checks)
      if (!oldIds.has(t.id) && (s.weights[p.name] ?? 0) > 0) s.out[t.id] = 'down';
      else if (wasOut[t.id] !== undefined) s.out[t.id] = wasOut[t.id]!;
    }
    s.pools.push({ name: p.name, targets: p.targets.map((t) => ({ ...t })) });
  }
}

/** The pools' shares as the state keeps them (0 left out); each named pool must be declared. */
export function weightsFor(s: HaproxyState, weights: Record<string, number>, backend: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, w] of Object.entries(weights)) {
    if (!s.pools.some((p) => p.name === name)) throw new RouterError(KEY, `pool ${name} has no targets in backend ${backend} (declare it first)`);
    if (typeof w !== 'number' || !(w >= 0 && w <= 100)) throw new RouterError(KEY, `weight ${w} of pool ${name} is not a percentage`);
    if (w > 0) out[name] = w;
  }
  return out;
}

export function checkTarget(s: HaproxyState, id: string, backend: string): void {
  if (!poolOf(s, id)) throw new RouterError(KEY, `no target ${id} in backend ${backend}`);
}

export function routesRefused(): RouterError {
  return new RouterError('router.type', 'HAProxy routes (by header or cookie) are not supported: Deployer only sets server weights in its backend', {
    hint: 'use router.type embedded for header/cookie routes, or a strategy without them',
  });
}

/** Any action as its edit; false when it changes nothing in HAProxy (an empty list of routes). */
export function haproxyEdit(s: HaproxyState, a: RouterAction, backend: string): boolean {
  switch (a.kind) {
    case 'add_targets':
    case 'remove_targets':
      declareEdit(s, poolsAfter(s.pools, a));
      return true;
    case 'weights':
      s.weights = weightsFor(s, a.weights, backend);
      return true;
    case 'routes':
      if (a.routes.length > 0) throw routesRefused();
      return false;
    case 'drain':
      checkTarget(s, a.id, backend);
      s.out[a.id] = 'draining';
      return true;
    case 'enable':
      checkTarget(s, a.id, backend);
      delete s.out[a.id];
      return true;
  }
}
