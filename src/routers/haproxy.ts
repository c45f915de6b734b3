// router.type haproxy: the user's own HAProxy fronts the app; Deployer owns one backend in it.
// Every change goes through the runtime API (no reload) and is mirrored into config_file, which
// HAProxy loads with an extra -f, so a reload or restart keeps serving what Deployer set.
//
// Order: the file is written FIRST, then HAProxy is brought to it. The file always holds the
// state Deployer wants next, and every state Deployer asks for is one that can serve (a new
// server is in maintenance or at weight 0 until it is enabled, a drained one is at weight 0,
// weights move raise-first so some server always takes traffic). So a reload at any instant
// loads either the previous wanted state (before the rename) or the new one (after): never a
// lost server, never a drained one back in rotation. A crash between the two leaves HAProxy
// behind the file; the next call (a new process reads the file) brings it up to date.
import { dirname } from 'node:path';
import { RouterError } from '../errors.js';
import { answerError, ExecApi, SocketApi, type HaproxyApi } from './haproxy-api.js';
import { batches, checkName, delServer, showServersState, showStat, shutdownSessions } from './haproxy-commands.js';
import { parseConfig, renderConfig } from './haproxy-config.js';
import { planConverge } from './haproxy-plan.js';
import { checkTarget, declareEdit, routesRefused, weightsFor } from './haproxy-edits.js';
import { asLive, previewHaproxy } from './haproxy-preview.js';
import { desiredServers, emptyState, type HaproxyState } from './haproxy-state.js';
import { liveWeight, parseServersState, parseStat, poolTraffic, serverRows, targetHealth, targetState, type ServerState, type StatRow } from './haproxy-stat.js';
import { foldPreviews } from './preview.js';
import type { LivePool, LiveRouting, PoolTargets, PoolTraffic, RouteRule, Router, RouterAction, RouterActionPreview, RouterCapabilities, RouterDeps } from './types.js';

export interface HaproxyRouterConfig {
  admin_socket: string;
  /** default: the app name */
  backend?: string;
  config_file: string;
  reload_command?: string;
}

/** How long a removed server's connections get to finish before `shutdown sessions`. */
const REMOVE_GRACE_MS = 10_000;
/** How long HAProxy gets to come back with the backend after reload_command. */
const RELOAD_WAIT_MS = 15_000;
const POLL_MS = 100;

export class HaproxyRouter implements Router {
  readonly kind = 'haproxy' as const;
  readonly capabilities: RouterCapabilities = { weights: true, routes: false, drain: true, counts: true, latency: false };
  readonly backend: string;
  private readonly api: HaproxyApi;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cfg: HaproxyRouterConfig,
    private readonly deps: RouterDeps & { api?: HaproxyApi },
  ) {
    this.backend = checkName('router.haproxy.backend', 'backend', cfg.backend ?? deps.app);
    this.api = deps.api ?? (deps.transport.name === 'local' ? new SocketApi(cfg.admin_socket) : new ExecApi(deps.transport, cfg.admin_socket));
  }

  async init(): Promise<{ file: string; written: boolean }> {
    const file = this.cfg.config_file;
    const fs = this.deps.transport.fs;
    await fs.mkdirp(dirname(file));
    const written = await fs.createExclusive(file, renderConfig(this.backend, this.deps.app, emptyState()));
    return { file, written };
  }

  declarePools(pools: PoolTargets[]): Promise<void> {
    return this.change((s) => declareEdit(s, pools));
  }

  setWeights(weights: Record<string, number>): Promise<void> {
    return this.change((s) => {
      s.weights = weightsFor(s, weights, this.backend);
    });
  }

  async setRoutes(routes: RouteRule[]): Promise<void> {
    if (routes.length > 0) throw routesRefused();
  }

  async drain(targetId: string, timeoutMs: number): Promise<void> {
    await this.change((s) => {
      checkTarget(s, targetId, this.backend);
      s.out[targetId] = 'draining';
    });
    // outside the queue: drains of several targets wait side by side
    const deadline = this.deps.clock.monotonic() + timeoutMs;
    for (;;) {
      const row = serverRows(await this.stat(), this.backend).get(targetId);
      if (row === undefined || Number(row.scur || 0) + Number(row.qcur || 0) === 0) return;
      if (this.deps.clock.monotonic() >= deadline) return;
      await this.deps.clock.sleep(POLL_MS);
    }
  }

  enable(targetId: string): Promise<void> {
    return this.change((s) => {
      checkTarget(s, targetId, this.backend);
      delete s.out[targetId];
    });
  }

  async live(): Promise<LiveRouting | null> {
    const s = await this.load();
    // HAProxy is asked even when the file declares nothing yet: "nothing routed" from an
    // unreachable socket or a backend HAProxy lacks would let a planner take the live pool for idle.
    // Only with reload_command may HAProxy lack it (the first change loads it).
    const stat = await this.stat().catch((e: unknown) => {
      if (s.pools.length === 0 && this.cfg.reload_command && e instanceof RouterError && e.key === 'router.haproxy.backend') return null;
      throw e;
    });
    if (s.pools.length === 0 || stat === null) return null;
    const rows = serverRows(stat, this.backend);
    const total = [...rows.values()].reduce((n, r) => n + liveWeight(r), 0);
    const pools: LivePool[] = s.pools.map((p) => {
      const w = p.targets.reduce((n, t) => n + liveWeight(rows.get(t.id)), 0);
      return {
        name: p.name,
        weight: total === 0 ? 0 : Math.round((w / total) * 10_000) / 100,
        targets: p.targets.map((t) => {
          const r = rows.get(t.id);
          return { ...t, ...addrOf(r), state: r ? targetState(r.status) : 'down', health: r ? targetHealth(r.check_status) : null };
        }),
      };
    });
    return { pools, routes: [], where: `haproxy backend ${this.backend} (${this.cfg.admin_socket})` };
  }

  async traffic(): Promise<Record<string, PoolTraffic>> {
    const s = await this.load();
    return poolTraffic(s.pools, serverRows(await this.stat(), this.backend));
  }

  /** From the file's state and the servers HAProxy has (the file's, when HAProxy cannot be asked). */
  async preview(actions: RouterAction[]): Promise<RouterActionPreview[]> {
    const state = await this.load();
    const live = await this.api
      .run(showServersState(this.backend))
      .then(parseServersState)
      .catch(() => null);
    return foldPreviews({ state, live: live ?? asLive(desiredServers(state)) }, actions, (p, a) => previewHaproxy({ backend: this.backend, config_file: this.cfg.config_file }, p, a));
  }


  // ---- internals ----

  /** One change at a time: read the file, change the state, write the file, bring HAProxy to it. */
  private change(fn: (s: HaproxyState) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const s = await this.load();
      fn(s);
      await this.write(s);
      await this.converge(s);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<HaproxyState> {
    let text: string | null;
    try {
      text = await this.deps.transport.fs.readText(this.cfg.config_file);
    } catch (e) {
      throw new RouterError('router.haproxy.config_file', `cannot read ${this.cfg.config_file}: ${(e as Error).message}`, { cause: e });
    }
    return parseConfig(text);
  }

  private async write(s: HaproxyState): Promise<void> {
    try {
      await this.deps.transport.fs.mkdirp(dirname(this.cfg.config_file));
      await this.deps.transport.fs.writeAtomic(this.cfg.config_file, renderConfig(this.backend, this.deps.app, s));
    } catch (e) {
      throw new RouterError('router.haproxy.config_file', `cannot write ${this.cfg.config_file}: ${(e as Error).message}`, { cause: e });
    }
  }

  private async converge(s: HaproxyState): Promise<void> {
    const plan = planConverge(this.backend, desiredServers(s), await this.servers());
    for (const c of plan.adds) await this.send(c, /New server registered/);
    for (const c of plan.addrs) await this.send(c, /changed|no need to change/i);
    for (const line of batches(plan.batch)) await this.send(line);
    for (const id of plan.removals) await this.remove(id);
  }

  /** Sends a line; an answer other than nothing (or `ok`) is a RouterError naming the key it points at. */
  private async send(line: string, ok?: RegExp): Promise<string> {
    const answer = await this.api.run(line);
    if (ok?.test(answer)) return answer;
    const err = answerError(answer, this.cfg.admin_socket);
    if (err) throw err;
    return answer;
  }

  /** A server that is in maintenance goes once its connections are done (cut after a grace time). */
  private async remove(id: string): Promise<void> {
    const deadline = this.deps.clock.monotonic() + REMOVE_GRACE_MS;
    let cut = false;
    for (;;) {
      const answer = await this.api.run(delServer(this.backend, id));
      if (/Server deleted|No such server/i.test(answer)) return;
      const busy = /still has connections|in use|cannot remove/i.test(answer);
      if (!busy) throw answerError(answer, this.cfg.admin_socket) ?? new RouterError('router.haproxy.backend', `HAProxy did not delete server ${id}`);
      if (this.deps.clock.monotonic() >= deadline) {
        if (cut) throw new RouterError('router.haproxy.backend', `HAProxy keeps connections on server ${id}: ${answer.trim()}`);
        await this.send(shutdownSessions(this.backend, id));
        cut = true;
      }
      await this.deps.clock.sleep(POLL_MS);
    }
  }

  /** The backend's servers as HAProxy has them; with reload_command, a backend HAProxy lacks is loaded from the file first. */
  private async servers(): Promise<ServerState[]> {
    const found = parseServersState(await this.api.run(showServersState(this.backend)));
    if (found) return found;
    if (!this.cfg.reload_command) throw this.noBackend();
    await this.reload();
    const deadline = this.deps.clock.monotonic() + RELOAD_WAIT_MS;
    for (;;) {
      const again = await this.api.run(showServersState(this.backend)).catch((e: unknown) => (e instanceof RouterError ? '' : Promise.reject(e)));
      const s = again ? parseServersState(again) : null;
      if (s) return s;
      if (this.deps.clock.monotonic() >= deadline) throw this.noBackend(' (not even after reload_command)');
      await this.deps.clock.sleep(POLL_MS);
    }
  }

  private async stat(): Promise<StatRow[]> {
    const answer = await this.api.run(showStat(this.backend));
    if (/No such (proxy|backend)/i.test(answer)) throw this.noBackend();
    const err = answer.startsWith('# ') ? null : answerError(answer, this.cfg.admin_socket);
    if (err) throw err;
    return parseStat(answer);
  }

  private async reload(): Promise<void> {
    const cmd = this.cfg.reload_command!;
    const r = await this.deps.transport.exec(['sh', '-c', cmd], { timeoutMs: 60_000 });
    if (r.code !== 0) {
      const why = r.spawnError?.message ?? (r.timedOut ? 'timed out after 60 s' : `exited ${r.code ?? r.signal}`);
      throw new RouterError('router.haproxy.reload_command', `\`${cmd}\` failed: ${why}${r.stderr.trim() ? `: ${r.stderr.trim().slice(-500)}` : ''}`);
    }
  }

  private noBackend(more = ''): RouterError {
    return new RouterError('router.haproxy.backend', `HAProxy (${this.cfg.admin_socket}) has no backend ${this.backend}${more}`, {
      hint: `start haproxy with \`-f ${this.cfg.config_file}\` added to its command line (Deployer writes backend ${this.backend} there), or check the backend name`,
    });
  }
}

/** host and port from a `show stat` addr (`127.0.0.1:3000`, `[::1]:3000`), when it has one. */
function addrOf(r: StatRow | undefined): { host?: string; port?: number } {
  const m = r?.addr ? /^\[?(.*?)\]?:(\d+)$/.exec(r.addr) : null;
  return m ? { host: m[1]!, port: Number(m[2]) } : {};
}
