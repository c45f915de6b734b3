// From what HAProxy has to what Deployer wants: the runtime API commands, in an order that never
// leaves the backend with no server taking traffic. Pure; haproxy.ts sends them.
import { isIP } from 'node:net';
import { addServer, setAddr, setState, setWeight } from './haproxy-commands.js';
import type { DesiredServer } from './haproxy-state.js';
import { adminState, type ServerState } from './haproxy-stat.js';

export interface ConvergePlan {
  /** `add server` lines, one connection each (HAProxy adds a server in maintenance) */
  adds: string[];
  /** `set server ... addr` lines, one connection each (they answer with what changed) */
  addrs: string[];
  /** weights and states on one connection: every raise first, then every lowering, so some server always takes traffic */
  batch: string[];
  /** servers HAProxy has that are not wanted; `batch` puts them in maintenance, then they go (`del server`) */
  removals: string[];
}

export function planConverge(be: string, desired: readonly DesiredServer[], live: readonly ServerState[]): ConvergePlan {
  const have = new Map(live.map((s) => [s.name, s]));
  const plan: ConvergePlan = { adds: [], addrs: [], batch: [], removals: [] };
  const raise: string[] = [];
  const lower: string[] = [];
  for (const d of desired) {
    let l = have.get(d.id);
    if (l === undefined) {
      plan.adds.push(addServer(be, d.id, d.host, d.port, d.weight));
      l = { name: d.id, addr: d.host, port: d.port, admin: 0x01, op: 0, uweight: d.weight };
    } else if (l.port !== d.port || (isIP(d.host) !== 0 && l.addr !== d.host)) {
      plan.addrs.push(setAddr(be, d.id, d.host, d.port));
    }
    const now = adminState(l.admin);
    if (d.admin === 'ready') {
      if (d.weight > l.uweight) raise.push(setWeight(be, d.id, d.weight));
      if (now !== 'ready') raise.push(setState(be, d.id, 'ready'));
      if (d.weight < l.uweight) lower.push(setWeight(be, d.id, d.weight));
      continue;
    }
    if (d.admin === 'drain' && now !== 'drain') {
      // out of maintenance straight into drain: at weight 0 first, so it takes nothing in between
      if (now === 'maint' && l.uweight !== 0) lower.push(setWeight(be, d.id, 0));
      if (now === 'maint') lower.push(setState(be, d.id, 'ready'));
      lower.push(setState(be, d.id, 'drain'));
    }
    if (d.admin === 'maint' && now !== 'maint') lower.push(setState(be, d.id, 'maint'));
    if (d.weight !== l.uweight && !(d.admin === 'drain' && now === 'maint')) lower.push(setWeight(be, d.id, d.weight));
  }
  const wanted = new Set(desired.map((d) => d.id));
  for (const l of live) {
    if (wanted.has(l.name)) continue;
    if (adminState(l.admin) !== 'maint') lower.push(setState(be, l.name, 'maint'));
    plan.removals.push(l.name);
  }
  plan.batch = [...raise, ...lower];
  return plan;
}
