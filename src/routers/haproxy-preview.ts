// What a change of router.type haproxy would do, as `--dry-run` prints it: the file written first,
// then the runtime API commands that bring HAProxy to it. Pure over (state read, servers HAProxy
// has, action); after each action HAProxy is taken to hold what the file says.
import { address, batches, delServer } from './haproxy-commands.js';
import { haproxyEdit } from './haproxy-edits.js';
import { planConverge } from './haproxy-plan.js';
import { desiredServers, type DesiredServer, type HaproxyState } from './haproxy-state.js';
import type { ServerState } from './haproxy-stat.js';
import type { RouterAction } from './types.js';

export interface HaproxyPreviewConfig {
  backend: string;
  config_file: string;
}

export interface HaproxyPreviewState {
  state: HaproxyState;
  /** the backend's servers as HAProxy has them */
  live: ServerState[];
}

/** Servers as `show servers state` would list them once HAProxy holds `desired`. */
export function asLive(desired: readonly DesiredServer[]): ServerState[] {
  return desired.map((d) => ({ name: d.id, addr: d.host, port: d.port, admin: d.admin === 'maint' ? 0x01 : d.admin === 'drain' ? 0x08 : 0, op: 2, uweight: d.weight }));
}

export function previewHaproxy(cfg: HaproxyPreviewConfig, p: HaproxyPreviewState, a: RouterAction): { lines: string[]; next: HaproxyPreviewState } {
  const state = p.state;
  if (!haproxyEdit(state, a, cfg.backend)) return { lines: [], next: p };
  const desired = desiredServers(state);
  const plan = planConverge(cfg.backend, desired, p.live);
  const servers = desired.map((d) => `server ${d.id} ${address(d.host, d.port)} weight ${d.weight}${d.admin === 'maint' ? ' disabled' : ''}`);
  const api = [...plan.adds, ...plan.addrs, ...batches(plan.batch), ...plan.removals.map((id) => delServer(cfg.backend, id))];
  return {
    lines: [`write ${cfg.config_file}: backend ${cfg.backend}: ${servers.length ? servers.join(', ') : 'no server'}`, ...api.map((l) => `runtime API: ${l}`)],
    next: { state, live: asLive(desired) },
  };
}
