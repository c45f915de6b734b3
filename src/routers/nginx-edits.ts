// The changes of router.type nginx as pure edits of its state: nginx.ts writes what they return,
// nginx-preview.ts describes it. Each takes a state it may change and returns it.
import { RouterError } from '../errors.js';
import type { NginxState } from './nginx-config.js';
import { poolsAfter } from './preview.js';
import type { PoolTargets, RouterAction } from './types.js';

/** The named pools hold exactly these targets; a target new to a pool with traffic starts down. */
export function declareEdit(s: NginxState, pools: PoolTargets[]): NginxState {
  for (const p of pools) {
    const old = s.pools.find((x) => x.name === p.name);
    const hasTraffic = (s.weights[p.name] ?? 0) > 0;
    const known = new Set(old?.targets.map((t) => t.id) ?? []);
    const ids = new Set(p.targets.map((t) => t.id));
    // a new target in a pool with traffic starts out of rotation until enable()
    const newDown = hasTraffic ? p.targets.filter((t) => !known.has(t.id)).map((t) => t.id) : [];
    const gone = (old?.targets ?? []).filter((t) => !ids.has(t.id)).map((t) => t.id);
    s.down = [...s.down.filter((d) => !gone.includes(d)), ...newDown.filter((d) => !s.down.includes(d))];
    if (p.targets.length === 0) {
      // a pool with traffic keeps its share while it has no target (rolling one instance, or a
      // whole batch): the targets that come back start down and enable() puts them in rotation
      if (old && (s.weights[p.name] ?? 0) > 0) old.targets = [];
      else {
        s.pools = s.pools.filter((x) => x.name !== p.name);
        delete s.weights[p.name];
      }
    } else if (old) old.targets = p.targets.map((t) => ({ ...t }));
    else {
      s.pools.push({ name: p.name, targets: p.targets.map((t) => ({ ...t })) });
      s.weights[p.name] = 0;
    }
  }
  return s;
}

/** Every pool's share in one update (pools left out get 0): percentages summing to 100, to declared pools. */
export function weightsEdit(s: NginxState, weights: Record<string, number>, file: string): NginxState {
  const total = Object.values(weights).reduce((a, b) => a + b, 0);
  if (Object.values(weights).some((w) => !Number.isFinite(w) || w < 0) || Math.abs(total - 100) > 0.01) {
    throw new RouterError('router.nginx', `weights must be percentages summing to 100, got ${JSON.stringify(weights)}`);
  }
  for (const name of Object.keys(weights)) {
    if (weights[name]! > 0 && !s.pools.some((p) => p.name === name)) throw new RouterError('router.nginx', `pool ${name} has no targets in ${file}: declare it before giving it traffic`);
  }
  s.weights = Object.fromEntries(s.pools.map((p) => [p.name, weights[p.name] ?? 0]));
  return s;
}

function checkTarget(s: NginxState, id: string, file: string): void {
  if (!s.pools.some((p) => p.targets.some((t) => t.id === id))) throw new RouterError('router.nginx', `no target ${id} in ${file}`);
}

export function drainEdit(s: NginxState, id: string, file: string): NginxState {
  checkTarget(s, id, file);
  if (!s.down.includes(id)) s.down.push(id);
  return s;
}

export function enableEdit(s: NginxState, id: string, file: string): NginxState {
  checkTarget(s, id, file);
  s.down = s.down.filter((d) => d !== id);
  return s;
}

/** Any action as its edit. */
export function nginxEdit(s: NginxState, a: RouterAction, file: string): NginxState {
  switch (a.kind) {
    case 'add_targets':
    case 'remove_targets':
      return declareEdit(s, poolsAfter(s.pools, a));
    case 'weights':
      return weightsEdit(s, a.weights, file);
    case 'routes':
      return { ...s, routes: a.routes.map((r) => ({ ...r })) };
    case 'drain':
      return drainEdit(s, a.id, file);
    case 'enable':
      return enableEdit(s, a.id, file);
  }
}
