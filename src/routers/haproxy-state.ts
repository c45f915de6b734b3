// What Deployer wants its HAProxy backend to hold: the pools and their targets, each pool's share
// of traffic, and the targets taken out of rotation. Kept as a JSON comment line in config_file
// (every deploy step is a new process: this is how the next one knows), and turned into the
// per-server weights and states both the file and the runtime API carry.
import { RouterError } from '../errors.js';
import type { PoolTargets } from './types.js';
import { serverWeights } from './weights.js';
import type { ServerAdminState } from './haproxy-commands.js';

/** HAProxy takes server weights 0-256. */
export const MAX_WEIGHT = 256;

export interface HaproxyState {
  pools: PoolTargets[];
  /** percent of new traffic per pool; a pool not listed has 0 */
  weights: Record<string, number>;
  /** targets out of rotation: draining (weight 0, in-flight requests finish) or down (maintenance) */
  out: Record<string, 'draining' | 'down'>;
}

/** One server as the file and the runtime API should have it. */
export interface DesiredServer {
  id: string;
  host: string;
  port: number;
  weight: number;
  admin: ServerAdminState;
}

export const emptyState = (): HaproxyState => ({ pools: [], weights: {}, out: {} });

/** Every server of the backend: weights from the pool shares over the targets in rotation; drained and down ones at 0. */
export function desiredServers(s: HaproxyState): DesiredServer[] {
  const inRotation = s.pools.map((p) => ({ name: p.name, targets: p.targets.filter((t) => s.out[t.id] === undefined) }));
  const w = serverWeights(inRotation, s.weights, MAX_WEIGHT);
  return s.pools.flatMap((p) =>
    p.targets.map((t) => {
      const out = s.out[t.id];
      return { id: t.id, host: t.host, port: t.port, weight: out ? 0 : (w.get(t.id) ?? 0), admin: out === 'draining' ? 'drain' : out === 'down' ? 'maint' : 'ready' };
    }),
  );
}

export function poolOf(s: HaproxyState, id: string): PoolTargets | undefined {
  return s.pools.find((p) => p.targets.some((t) => t.id === id));
}

const KEY = 'router.haproxy.config_file';

function bad(why: string): never {
  throw new RouterError(KEY, `the "# deployer-state:" line is not one Deployer wrote (${why})`, {
    hint: 'Deployer keeps the pools of this backend on that line; restore the file from a backup, or remove the line to let the next deploy declare the pools again',
  });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The state from its JSON, checked field by field (a hand-edited line must not half-apply). */
export function stateFromJson(json: string): HaproxyState {
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch (e) {
    bad(`invalid JSON: ${(e as Error).message}`);
  }
  if (!isObj(v) || !Array.isArray(v.pools) || !isObj(v.weights) || !isObj(v.out)) bad('expected {"pools": [...], "weights": {...}, "out": {...}}');
  const ids = new Set<string>();
  const pools = v.pools.map((p, i): PoolTargets => {
    if (!isObj(p) || typeof p.name !== 'string' || !Array.isArray(p.targets)) bad(`pools[${i}] is not {"name", "targets"}`);
    return {
      name: p.name,
      targets: p.targets.map((t, j) => {
        if (!isObj(t) || typeof t.id !== 'string' || typeof t.host !== 'string' || typeof t.port !== 'number' || (t.release !== undefined && typeof t.release !== 'string')) {
          bad(`pools[${i}].targets[${j}] is not {"id", "host", "port"}`);
        }
        if (ids.has(t.id)) bad(`target ${t.id} is in two pools`);
        ids.add(t.id);
        return { id: t.id, host: t.host, port: t.port, ...(t.release === undefined ? {} : { release: t.release as string }) };
      }),
    };
  });
  const weights: Record<string, number> = {};
  for (const [k, w] of Object.entries(v.weights)) {
    if (typeof w !== 'number' || !(w >= 0 && w <= 100)) bad(`weight of ${k} is not a percentage`);
    weights[k] = w;
  }
  const out: HaproxyState['out'] = {};
  for (const [k, s] of Object.entries(v.out)) {
    if (s !== 'draining' && s !== 'down') bad(`state of ${k} is neither "draining" nor "down"`);
    out[k] = s;
  }
  return { pools, weights, out };
}

export function stateToJson(s: HaproxyState): string {
  return JSON.stringify({ pools: s.pools, weights: s.weights, out: s.out });
}
