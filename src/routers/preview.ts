// What every adapter's preview shares: the pools a start or stop of targets declares, and the fold
// of a list of changes over a state read once (each change sees what the ones before it left).
import { RouterError } from '../errors.js';
import type { PoolTargets, RouteRule, RouterAction, RouterActionPreview } from './types.js';

type TargetChange = Extract<RouterAction, { kind: 'add_targets' | 'remove_targets' }>;

/** The pools to declare after targets start (they join their pool, replacing the same ids) or stop. */
export function poolsAfter(pools: readonly PoolTargets[], a: TargetChange): PoolTargets[] {
  if (a.kind === 'add_targets') {
    const old = pools.find((p) => p.name === a.pool)?.targets ?? [];
    const fresh = new Map(a.targets.map((t) => [t.id, t]));
    const kept = old.map((t) => fresh.get(t.id) ?? t);
    const known = new Set(old.map((t) => t.id));
    return [{ name: a.pool, targets: [...kept, ...a.targets.filter((t) => !known.has(t.id))].map((t) => ({ ...t })) }];
  }
  const gone = new Set(a.ids);
  return pools.filter((p) => p.targets.some((t) => gone.has(t.id))).map((p) => ({ name: p.name, targets: p.targets.filter((t) => !gone.has(t.id)) }));
}

/**
 * Each action's preview from the state the ones before it left. A RouterError (what the router
 * would refuse) previews as `would fail: ...` and leaves the state unchanged.
 */
export function foldPreviews<S>(start: S, actions: readonly RouterAction[], one: (s: S, a: RouterAction) => { lines: string[]; next: S }): RouterActionPreview[] {
  let s = start;
  return actions.map((a) => {
    try {
      const r = one(structuredClone(s), a);
      s = r.next;
      return { lines: r.lines };
    } catch (e) {
      if (!(e instanceof RouterError)) throw e;
      return { lines: [`would fail: ${e.message}`] };
    }
  });
}

/** `green 100%, blue 0%` */
export const describeShares = (pools: readonly string[], weights: Record<string, number>): string =>
  pools.map((p) => `${p} ${Math.round((weights[p] ?? 0) * 100) / 100}%`).join(', ');

/** `header x-canary = "1" -> green`, on one line. */
export function describeRoute(r: RouteRule): string {
  const what = r.header !== undefined ? `header ${r.header}` : `cookie ${r.cookie ?? ''}`;
  return `${what}${r.value === undefined ? ' (any value)' : ` = ${JSON.stringify(r.value)}`} -> ${r.pool}`.replace(/[\r\n]/g, ' ');
}
