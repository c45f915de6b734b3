// RouterCore: the router's state and operations, usable in-process; control.ts serves it over HTTP.
import { blockList, CIDR_HINT, parseCidr } from '../../util/cidr.js';
import type { AppMetrics, AppTraffic, RouterApp, RouterAppView, TargetState, TargetView } from '../model.js';
import { RouterError, type LogFn } from './errors.js';
import { nextHealthState, probe } from './health.js';
import { renderPrometheus } from './prometheus.js';
import { compileRoutes, routesProblem } from './routes.js';
import type { ProxyContext } from './http1/exchange.js';
import { Listener, listenKey } from './server.js';
import type { UpstreamOptions } from './http1/upstream-pool.js';
import { AppRt, PoolRt, TargetRt } from './state.js';

/** A target never yet healthy (a process starting) is checked this often, for this long. */
const STARTING_RECHECK_MS = 50;
const STARTING_WINDOW_MS = 30_000;

export interface RouterCoreOptions {
  /** random numbers in [0, 1) for pool choice; default Math.random */
  random?: () => number;
  /** monotonic milliseconds; default performance.now */
  now?: () => number;
  log?: LogFn;
  /** how long a target may take to send response headers before a 504; default 60 s */
  headersTimeoutMs?: number;
  /** TCP connect timeout to a target; default 2 s */
  connectTimeoutMs?: number;
  /** dispatches per request at most (first try + retries); default 4 */
  maxAttempts?: number;
}

export interface DrainResult {
  drained: boolean;
  inFlight: number;
  waitedMs: number;
}

export interface WaitHealthyResult {
  healthy: boolean;
  state: TargetState;
  lastError: string | null;
}

export class RouterCore implements ProxyContext {
  readonly random: () => number;
  readonly now: () => number;
  readonly maxAttempts: number;
  private readonly log: LogFn;
  private readonly upstreamOpts: UpstreamOptions;
  private readonly apps = new Map<string, AppRt>();
  private readonly listeners = new Map<string, Listener>();
  /** called on every target state change */
  private readonly stateWatchers = new Set<() => void>();
  /** config changes run one at a time (binding a listener is asynchronous) */
  private serial: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(opts: RouterCoreOptions = {}) {
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? (() => performance.now());
    this.log = opts.log ?? (() => undefined);
    this.maxAttempts = opts.maxAttempts ?? 4;
    this.upstreamOpts = { connectTimeoutMs: opts.connectTimeoutMs ?? 2_000, headersTimeoutMs: opts.headersTimeoutMs ?? 60_000 };
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.serial.then(fn, fn);
    this.serial = run.catch(() => undefined);
    return run;
  }

  // ---- configuration ----

  /** Adds or updates an app. Targets with the same id, host and port keep their state and counters. */
  upsertApp(spec: RouterApp): Promise<void> {
    return this.exclusive(async () => {
      if (this.closed) throw new RouterError(409, 'router: shutting down');
      checkSpec(spec);
      const key = spec.listen === null ? null : listenKey(spec.listen);
      let listener = key === null ? null : (this.listeners.get(key) ?? undefined);
      const conflict = listener?.conflict(spec) ?? null;
      if (conflict !== null) throw new RouterError(409, conflict);
      if (listener === undefined && spec.listen !== null) {
        listener = await Listener.open(spec.listen.host, spec.listen.port, this);
        this.listeners.set(key!, listener);
        this.log('router.listen', { listen: key });
      }
      // commit: synchronous from here on
      const existing = this.apps.get(spec.name);
      const app = existing ?? new AppRt(spec);
      this.apply(app, spec);
      if (existing === undefined) this.apps.set(spec.name, app);
      const old = app.listener;
      // no listener: the app's targets are health-checked, and another router serves it
      const next = listener ?? null;
      if (old !== next) {
        old?.apps.delete(app);
        old?.rebuild();
        next?.apps.add(app);
        app.listener = next;
        if (old !== null && old.apps.size === 0) this.closeListener(old);
      }
      next?.rebuild();
      this.log('router.app', { app: spec.name, listen: key, pools: spec.pools.map((p) => `${p.name}:${p.weight}:${p.targets.map((t) => `${t.id}@${t.port}`).join(',')}`) });
      app.wake();
    });
  }

  private apply(app: AppRt, spec: RouterApp): void {
    const keep = new Set<TargetRt>();
    const pools: PoolRt[] = [];
    const weights: number[] = [];
    for (const p of spec.pools) {
      const pool = app.pools.find((x) => x.name === p.name) ?? new PoolRt(p.name);
      const targets: TargetRt[] = [];
      for (const t of p.targets) {
        const prev = app.targets.get(t.id);
        let rt: TargetRt;
        if (prev !== undefined && prev.port === t.port && prev.host === t.host) {
          rt = prev;
          rt.pool = pool;
        } else {
          rt = new TargetRt(t.id, t.host, t.port, pool, t.initial ?? 'unknown', this.upstreamOpts);
          rt.addedAt = this.now();
        }
        rt.healthPath = t.healthPath;
        rt.releaseName = t.release;
        keep.add(rt);
        targets.push(rt);
      }
      pool.targets = targets;
      pools.push(pool);
      weights.push(p.weight);
    }
    for (const t of app.targets.values()) if (!keep.has(t)) this.retire(t);
    app.targets.clear();
    for (const t of keep) app.targets.set(t.id, t);
    app.spec = spec;
    app.pools = pools;
    app.weights = weights;
    app.routes = compileRoutes(spec.routes);
    app.trusted = blockList(spec.trustedProxies);
    for (const t of keep) if (t.healthTimer === null && !t.checking) void this.check(app, t);
  }

  /** A target left the config: no new requests; its connections close once its requests finish. */
  private retire(t: TargetRt): void {
    t.removed = true;
    if (t.healthTimer !== null) clearTimeout(t.healthTimer);
    t.healthTimer = null;
    t.upstreams.close();
  }

  private closeListener(l: Listener): void {
    this.listeners.delete(l.key);
    this.log('router.unlisten', { listen: l.key });
    void l.close(10_000);
  }

  removeApp(name: string): Promise<void> {
    return this.exclusive(async () => {
      const app = this.app(name);
      this.apps.delete(name);
      app.removed = true;
      for (const t of app.targets.values()) this.retire(t);
      app.pools = [];
      app.weights = [];
      const l = app.listener;
      if (l !== null) {
        l.apps.delete(app);
        l.rebuild();
        if (l.apps.size === 0) this.closeListener(l);
      }
      app.listener = null;
      app.wake();
      this.log('router.app.removed', { app: name });
    });
  }

  /** Sets the given pools' weights in one assignment (a request sees the old or the new set). */
  setWeights(name: string, weights: Record<string, number>): void {
    const app = this.app(name);
    const next = [...app.weights];
    for (const [pool, w] of Object.entries(weights)) {
      const i = app.poolIndex(pool);
      if (i === -1) throw new RouterError(400, `weights.${pool}: app ${name} has no pool ${pool} (pools: ${app.pools.map((p) => p.name).join(', ')})`);
      if (!(w >= 0) || !Number.isFinite(w)) throw new RouterError(400, `weights.${pool}: must be a number >= 0`);
      next[i] = w;
    }
    app.weights = next;
    this.log('router.weights', { app: name, weights: Object.fromEntries(app.pools.map((p, i) => [p.name, next[i]])) });
    app.wake();
  }

  // ---- targets ----

  /** Takes the target out of rotation and waits until its in-flight requests are done (or the timeout). */
  async drain(appName: string, id: string, timeoutMs?: number): Promise<DrainResult> {
    const app = this.app(appName);
    const t = this.target(app, id);
    this.setState(app, t, 'draining', 'drain');
    const start = this.now();
    if (t.inFlight > 0) {
      const wait = timeoutMs ?? app.spec.drainTimeoutMs;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          const i = t.idleWaiters?.indexOf(done) ?? -1;
          if (i !== -1) t.idleWaiters!.splice(i, 1);
          resolve();
        }, wait);
        (t.idleWaiters ??= []).push(done);
      });
    }
    return { drained: t.inFlight === 0, inFlight: t.inFlight, waitedMs: Math.round(this.now() - start) };
  }

  /** Back into rotation: 'unknown' until the next check passes (checked at once), or 'healthy' now. */
  enable(appName: string, id: string, healthy = false): void {
    const app = this.app(appName);
    const t = this.target(app, id);
    t.okStreak = 0;
    t.failStreak = 0;
    this.setState(app, t, healthy ? 'healthy' : 'unknown', 'enable');
    if (!healthy) this.checkNow(app, t);
  }

  /** The supervisor saw the process exit: out of rotation now; the health checks may bring it back. */
  markDown(appName: string, id: string, reason = 'marked down: the process exited'): void {
    const app = this.app(appName);
    this.markUnhealthy(app, this.target(app, id), reason);
  }

  markUnhealthy(app: AppRt, t: TargetRt, reason: string): void {
    if (t.removed) return;
    t.lastError = reason;
    t.okStreak = 0;
    if (t.state === 'healthy' || t.state === 'unknown') this.setState(app, t, 'unhealthy', reason);
  }

  /** Waits until the target is healthy (by the router's own checks) or the timeout passes. */
  waitHealthy(appName: string, id: string, timeoutMs: number): Promise<WaitHealthyResult> {
    const app = this.app(appName);
    this.target(app, id);
    return new Promise((resolve) => {
      const current = (): TargetRt | undefined => (app.removed ? undefined : app.targets.get(id));
      const finish = (): void => {
        clearTimeout(timer);
        this.stateWatchers.delete(watch);
        const t = current();
        resolve({ healthy: t?.state === 'healthy', state: t?.state ?? 'disabled', lastError: t?.lastError ?? (t ? null : 'target removed') });
      };
      const watch = (): void => {
        const t = current();
        if (t === undefined || t.state === 'healthy') finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.stateWatchers.add(watch);
      watch();
    });
  }

  private setState(app: AppRt, t: TargetRt, next: TargetState, reason: string | null): void {
    if (t.state === next) return;
    const from = t.state;
    t.state = next;
    if (next === 'healthy') t.lastError = null;
    this.log('router.target', { app: app.spec.name, target: t.id, pool: t.pool.name, from, to: next, ...(reason ? { reason } : {}) });
    if (next === 'healthy') app.wake();
    for (const w of [...this.stateWatchers]) w();
  }

  // ---- health checks ----

  private async check(app: AppRt, t: TargetRt): Promise<void> {
    t.healthTimer = null;
    if (t.checking || t.removed || this.closed) return;
    t.checking = true;
    const h = app.spec.health;
    const err = await probe(t.host, t.port, t.healthPath === undefined ? h.path : t.healthPath, h.timeoutMs);
    t.checking = false;
    if (t.removed || this.closed) return;
    if (err !== null) t.lastError = err;
    this.setState(app, t, nextHealthState(t, err === null, h), err);
    // a target never yet healthy (a process starting) is looked at again soon, so a deploy waits
    // for its start-up, not for the check interval
    if (t.state === 'healthy') t.seenHealthy = true;
    const starting = !t.seenHealthy && this.now() - t.addedAt < STARTING_WINDOW_MS;
    const next = starting ? Math.min(STARTING_RECHECK_MS, h.intervalMs) : h.intervalMs;
    t.healthTimer = setTimeout(() => void this.check(app, t), next);
    t.healthTimer.unref();
  }

  private checkNow(app: AppRt, t: TargetRt): void {
    if (t.checking) return;
    if (t.healthTimer !== null) clearTimeout(t.healthTimer);
    void this.check(app, t);
  }

  // ---- views ----

  view(): RouterAppView[] {
    return [...this.apps.values()].map((app) => ({
      name: app.spec.name,
      listen: app.spec.listen === null ? null : { ...app.spec.listen },
      pools: app.pools.map((p, i) => ({
        name: p.name,
        weight: app.weights[i] ?? 0,
        targets: p.targets.map((t): TargetView => ({ id: t.id, pool: p.name, port: t.port, state: t.state, inFlight: t.inFlight, lastError: t.lastError, ...(t.releaseName !== undefined ? { release: t.releaseName } : {}) })),
      })),
    }));
  }

  metrics(): AppMetrics[] {
    return [...this.apps.values()].map((app) => ({
      app: app.spec.name,
      pools: Object.fromEntries(app.pools.map((p) => [p.name, { ...p.traffic.toJSON(), targets: Object.fromEntries(p.targets.map((t) => [t.id, t.traffic.toJSON()])) }])),
    }));
  }

  /** One app's pool counters and latency samples, read in one go (they agree). */
  traffic(name: string): AppTraffic {
    const app = this.app(name);
    return { app: name, pools: Object.fromEntries(app.pools.map((p) => [p.name, { ...p.traffic.toJSON(), samples: p.samples.toJSON() }])) };
  }

  prometheus(): string {
    const conns = [...this.listeners.values()].map((l) => ({ listen: l.key, open: l.conns.size + l.tunnels.size, refusedTotal: l.refusedTotal, refusedPerClient: l.refusedPerClient }));
    return renderPrometheus(this.metrics(), this.view(), conns);
  }

  private app(name: string): AppRt {
    const app = this.apps.get(name);
    if (app === undefined) throw new RouterError(404, `router: no app ${name}`);
    return app;
  }

  private target(app: AppRt, id: string): TargetRt {
    const t = app.targets.get(id);
    if (t === undefined) throw new RouterError(404, `router: app ${app.spec.name} has no target ${id}`);
    return t;
  }

  /** Stops accepting, lets in-flight requests finish (up to graceMs), then closes every connection. */
  async close(graceMs = 10_000): Promise<void> {
    this.closed = true;
    await Promise.all([...this.listeners.values()].map((l) => l.close(graceMs)));
    this.listeners.clear();
    for (const app of this.apps.values()) {
      app.removed = true;
      for (const t of app.targets.values()) {
        if (t.healthTimer !== null) clearTimeout(t.healthTimer);
        t.healthTimer = null;
        t.removed = true;
        t.upstreams.close();
      }
      app.pools = [];
      app.weights = [];
      app.wake();
    }
  }
}

/** Cross-field checks the schema cannot make: unique pool names and target ids. */
function checkSpec(spec: RouterApp): void {
  const routes = routesProblem(spec.routes);
  if (routes !== null) throw new RouterError(400, routes);
  for (const [i, c] of (spec.trustedProxies ?? []).entries()) if (parseCidr(c) === null) throw new RouterError(400, `trustedProxies.${i}: ${CIDR_HINT}`);
  const pools = new Set<string>();
  const ids = new Set<string>();
  for (const [i, p] of spec.pools.entries()) {
    if (pools.has(p.name)) throw new RouterError(400, `pools.${i}.name: pool ${p.name} appears twice`);
    pools.add(p.name);
    for (const [j, t] of p.targets.entries()) {
      if (ids.has(t.id)) throw new RouterError(400, `pools.${i}.targets.${j}.id: target ${t.id} appears twice`);
      ids.add(t.id);
    }
  }
}
