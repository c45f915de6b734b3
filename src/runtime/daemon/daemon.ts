import type { AppTraffic, InstanceSpec, InstanceStatus, RouteRule, RouterApp, RouterAppView } from '../model.js';
import type { Supervisor } from '../supervisor/index.js';
import { ControlApiError } from '../unix-json.js';
import type { RouterProcess } from './router-process.js';
import { routerAppOf, writeState, type AppRecord, type DaemonState } from './state.js';
import { appView, type AppView } from './view.js';
import { CoalescedWrite } from './coalesced-write.js';
import { KeyedTimers } from './timers.js';
import { waitInstanceHealthy, type HealthWait } from './wait-healthy.js';

export type { AppView, InstanceView } from './view.js';

export interface DaemonDeps {
  state: DaemonState;
  statePath: string;
  supervisor: Supervisor;
  router: RouterProcess;
  log: (msg: string) => void;
  now?: () => number;
}

/** The app's router settings; its pools come from the instances, its routes from setRoutes. */
export type AppConfig = Omit<RouterApp, 'pools' | 'name' | 'routes'>;

/**
 * The runtime's desired state and the operations on it. Every change is persisted before it is
 * answered, and the router gets the whole app config again (an idempotent upsert).
 */
export class Daemon {
  private chain: Promise<unknown> = Promise.resolve();
  /** each pool's scheduled stop (scale_down_delay) */
  private readonly timers: KeyedTimers;
  /** held by `hold` (drained in the router): `release` puts them back in rotation */
  private readonly drained = new Set<string>();
  private readonly now: () => number;
  private restoring = false;
  private closing = false;
  private readonly writer = new CoalescedWrite(() => this.writeState());

  constructor(private readonly d: DaemonDeps) {
    this.now = d.now ?? Date.now;
    this.timers = new KeyedTimers(this.now);
  }

  get state(): DaemonState {
    return this.d.state;
  }

  /** Runs state changes one at a time (waits for health or drains are outside it). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new ControlApiError(503, 'the runtime daemon is shutting down'));
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  private app(name: string): AppRecord {
    const a = this.d.state.apps[name];
    if (!a) throw new ControlApiError(404, `app ${name} is not known to the runtime`);
    return a;
  }

  /** Writes the state (never two writes at once: see CoalescedWrite), with each instance's process record. */
  persist(): Promise<void> {
    return this.restoring ? Promise.resolve() : this.writer.run();
  }

  private writeState(): Promise<void> {
    const records = this.d.supervisor.records();
    for (const [name, app] of Object.entries(this.d.state.apps)) {
      for (const [id, inst] of Object.entries(app.instances)) inst.process = records[`${name}/${id}`] ?? inst.process;
    }
    return writeState(this.d.statePath, this.d.state);
  }

  /** Stops taking changes, waits for the one in progress and the last write (before the daemon exits). */
  async quiesce(): Promise<void> {
    this.closing = true;
    await this.chain.catch(() => undefined);
    await this.persist();
  }

  /** Pushes one app's config to the router. */
  async pushApp(name: string): Promise<void> {
    await this.d.router.call('PUT', `/apps/${encodeURIComponent(name)}`, routerAppOf(this.app(name)));
  }

  /**
   * After the router (re)starts or is adopted: every app again. A fresh router checks each
   * target before it sends it traffic (requests wait meanwhile); an adopted one keeps its state.
   */
  async pushAll(): Promise<void> {
    if (this.d.state.metricsListen) await this.d.router.call('PUT', '/settings', { metricsListen: this.d.state.metricsListen });
    for (const name of Object.keys(this.d.state.apps)) {
      try {
        await this.pushApp(name);
      } catch (e) {
        this.d.log(`router: could not restore app ${name}: ${(e as Error).message}`);
      }
    }
  }

  /**
   * After the daemon starts: adopt every instance still running first, then start the others
   * (their 'started' events must not persist records of instances not yet adopted), re-arm timers.
   */
  async restore(): Promise<void> {
    this.restoring = true;
    const dead: { name: string; spec: InstanceSpec }[] = [];
    try {
      for (const [name, app] of Object.entries(this.d.state.apps)) {
        for (const inst of Object.values(app.instances)) {
          if (inst.process && this.d.supervisor.adopt(inst.spec, inst.process) === 'adopted') this.d.log(`${name}/${inst.spec.id}: adopted pid ${inst.process.pid}`);
          else dead.push({ name, spec: inst.spec });
        }
      }
      for (const { name, spec } of dead) {
        try {
          await this.d.supervisor.start(spec);
          this.d.log(`${name}/${spec.id}: started again`);
        } catch (e) {
          this.d.log(`${name}/${spec.id}: could not start: ${(e as Error).message}`);
        }
      }
      for (const [name, app] of Object.entries(this.d.state.apps)) for (const pool of Object.keys(app.stopAt)) this.arm(name, pool);
    } finally {
      this.restoring = false;
    }
    await this.persist();
  }

  putApp(name: string, config: AppConfig): Promise<AppView> {
    return this.exclusive(async () => {
      const existing = this.d.state.apps[name];
      const before = existing?.config;
      const rec: AppRecord = existing ?? { config: { ...config, name }, weights: {}, instances: {}, stopAt: {} };
      rec.config = { ...config, name };
      this.d.state.apps[name] = rec;
      try {
        await this.pushApp(name);
      } catch (e) {
        // the router refused (say the port is taken): keep what was there
        if (before) rec.config = before;
        else delete this.d.state.apps[name];
        throw e;
      }
      await this.persist();
      return this.view(name);
    });
  }

  /**
   * Starts instances (all or none): a port in use or a spawn error stops the ones started here.
   * Each is recorded before it is spawned, so no process the state does not know about can exist.
   * Held instances are checked by the router but get no traffic until released.
   */
  startInstances(app: string, specs: InstanceSpec[], hold = false): Promise<InstanceStatus[]> {
    return this.exclusive(async () => {
      const rec = this.app(app);
      for (const s of specs) {
        if (s.app !== app) throw new ControlApiError(400, `instance ${s.id} belongs to app ${s.app}, not ${app}`);
        for (const [other, o] of Object.entries(this.d.state.apps)) {
          const clash = Object.values(o.instances).find((i) => i.spec.port === s.port && !(other === app && i.spec.id === s.id));
          if (clash) throw new ControlApiError(409, `instance ${s.id}: port ${s.port} is used by instance ${clash.spec.id} of ${other}`);
        }
        if (rec.instances[s.id]) await this.d.supervisor.stop(app, s.id);
      }
      const started: InstanceSpec[] = [];
      try {
        for (const s of specs) {
          rec.instances[s.id] = { spec: s, process: null, ...(hold ? { held: true } : {}) };
          this.drained.delete(`${app}/${s.id}`);
          await this.persist();
          await this.d.supervisor.start(s);
          started.push(s);
          await this.persist();
        }
      } catch (e) {
        for (const s of specs) {
          if (started.includes(s)) await this.d.supervisor.stop(app, s.id);
          delete rec.instances[s.id];
        }
        await this.persist();
        throw new ControlApiError(409, (e as Error).message);
      }
      await this.pushApp(app);
      return specs.map((s) => this.d.supervisor.get(app, s.id)!).filter(Boolean);
    });
  }

  /** A held instance passed its checks: into its pool's rotation (a drained one is checked again first). */
  release(app: string, id: string): Promise<void> {
    return this.exclusive(async () => {
      const inst = this.app(app).instances[id];
      if (!inst) throw new ControlApiError(404, `instance ${id} of ${app} is not known to the runtime`);
      if (!inst.held) return;
      delete inst.held;
      await this.pushApp(app);
      if (this.drained.delete(`${app}/${id}`)) await this.d.router.call('POST', `/apps/${encodeURIComponent(app)}/targets/${encodeURIComponent(id)}/enable`, {});
      await this.persist();
    });
  }

  /**
   * Puts a running instance back on hold: out of its pool's rotation (no new requests), resolving
   * once its in-flight requests are done or timeoutMs (the app's drain timeout) passed.
   */
  async hold(app: string, id: string, timeoutMs?: number): Promise<{ drained: boolean; inFlight: number; waitedMs: number }> {
    await this.exclusive(async () => {
      const inst = this.app(app).instances[id];
      if (!inst) throw new ControlApiError(404, `instance ${id} of ${app} is not known to the runtime`);
      if (inst.held) return;
      inst.held = true;
      await this.pushApp(app);
      await this.persist();
    });
    this.drained.add(`${app}/${id}`);
    return this.drain(app, id, timeoutMs);
  }

  /** Takes instances out of the router (draining them first if asked), then stops them. */
  async stopInstances(app: string, ids: string[], drain: boolean): Promise<void> {
    const rec = this.app(app);
    const known = ids.filter((id) => rec.instances[id]);
    if (drain) await Promise.all(known.map((id) => this.drain(app, id).catch(() => undefined)));
    await this.exclusive(async () => {
      for (const id of known) {
        delete rec.instances[id];
        this.drained.delete(`${app}/${id}`);
      }
      await this.pushApp(app);
      await this.persist();
    });
    await Promise.all(known.map((id) => this.d.supervisor.stop(app, id)));
    await this.exclusive(() => this.persist());
  }

  /** only: pools not named get 0 (one call for "all traffic to these"), else they keep theirs */
  setWeights(app: string, weights: Record<string, number>, only = false): Promise<AppView> {
    return this.exclusive(async () => {
      const rec = this.app(app);
      if (only) weights = { ...Object.fromEntries(Object.keys(rec.weights).map((p) => [p, 0])), ...weights };
      for (const [pool, w] of Object.entries(weights)) {
        const serving = Object.values(rec.instances).filter((i) => i.spec.pool === pool && !i.held);
        if (w > 0 && serving.length === 0) throw new ControlApiError(409, `pool ${pool} of ${app} has no instances to send traffic to`);
      }
      const before = { ...rec.weights };
      Object.assign(rec.weights, weights);
      try {
        await this.d.router.call('POST', `/apps/${encodeURIComponent(app)}/weights`, { weights: rec.weights });
      } catch (e) {
        rec.weights = before;
        throw e;
      }
      await this.persist();
      return this.view(app);
    });
  }

  private drain(app: string, id: string, timeoutMs?: number): Promise<{ drained: boolean; inFlight: number; waitedMs: number }> {
    this.app(app);
    return this.d.router.call('POST', `/apps/${encodeURIComponent(app)}/targets/${encodeURIComponent(id)}/drain`, timeoutMs ? { timeoutMs } : {}, { timeoutMs: (timeoutMs ?? 600_000) + 10_000 });
  }


  /** Waits until the router's checks find the instance healthy, failing at once if its process exits first. */
  async waitHealthy(app: string, id: string, timeoutMs: number): Promise<HealthWait> {
    const rec = this.app(app);
    if (!rec.instances[id]) throw new ControlApiError(404, `instance ${id} of ${app} is not known to the runtime`);
    return waitInstanceHealthy(this.d.supervisor, this.d.router, this.now, app, id, timeoutMs);
  }

  /** Replaces the app's header/cookie routes; the router gets them with the rest of the app's config. */
  setRoutes(app: string, routes: RouteRule[]): Promise<AppView> {
    return this.exclusive(async () => {
      const rec = this.app(app);
      const before = rec.routes;
      rec.routes = routes;
      try {
        await this.pushApp(app);
      } catch (e) {
        rec.routes = before;
        throw e;
      }
      await this.persist();
      return this.view(app);
    });
  }

  /** The router's cumulative counters and recent latency samples of each of the app's pools. */
  async traffic(app: string): Promise<AppTraffic> {
    this.app(app);
    return this.d.router.call<AppTraffic>('GET', `/apps/${encodeURIComponent(app)}/traffic`);
  }

  /** Stops a pool's instances at a time (null: cancel). The deploy's scale_down_delay. */
  scheduleStop(app: string, pool: string, delayMs: number | null): Promise<AppView> {
    return this.exclusive(async () => {
      const rec = this.app(app);
      // nothing scheduled and nothing to schedule (a switch asks this every time): no write
      if (delayMs === null && rec.stopAt[pool] === undefined) return this.view(app);
      if (delayMs === null) delete rec.stopAt[pool];
      else rec.stopAt[pool] = this.now() + delayMs;
      await this.persist();
      this.arm(app, pool);
      return this.view(app);
    });
  }

  private arm(app: string, pool: string): void {
    const at = this.d.state.apps[app]?.stopAt[pool];
    this.timers.set(`${app}/${pool}`, at ?? null, () => void this.stopPoolNow(app, pool, at!));
  }

  /**
   * The scale-down delay is over. Deciding and taking the pool out of the router happen in one
   * state change, so a switch back to it (a rollback) either comes first and cancels the stop or
   * comes after and finds the pool empty (and refuses). In-flight requests finish: the instances
   * get SIGTERM and close gracefully.
   */
  private async stopPoolNow(app: string, pool: string, at: number): Promise<void> {
    const ids = await this.exclusive(async () => {
      const rec = this.d.state.apps[app];
      if (!rec || rec.stopAt[pool] !== at) return [];
      delete rec.stopAt[pool];
      if ((rec.weights[pool] ?? 0) > 0) {
        this.d.log(`${app}: not stopping pool ${pool}: it takes traffic again`);
        await this.persist();
        return [];
      }
      const gone = Object.values(rec.instances).filter((i) => i.spec.pool === pool).map((i) => i.spec.id);
      this.d.log(`${app}: scale-down delay over: stopping pool ${pool} (${gone.join(', ') || 'no instances'})`);
      for (const id of gone) delete rec.instances[id];
      await this.pushApp(app).catch((e: Error) => this.d.log(`${app}: router: ${e.message}`));
      await this.persist();
      return gone;
    }).catch((e: Error) => {
      this.d.log(`${app}: stopping pool ${pool}: ${e.message}`);
      return [] as string[];
    });
    await Promise.all(ids.map((id) => this.d.supervisor.stop(app, id).catch((e: Error) => this.d.log(`${app}/${id}: stop: ${e.message}`))));
    if (ids.length) await this.persist();
  }

  /** Stops every instance of the app and forgets it. */
  async removeApp(app: string): Promise<void> {
    const rec = this.app(app);
    await this.stopInstances(app, Object.keys(rec.instances), true);
    await this.exclusive(async () => {
      for (const pool of Object.keys(rec.stopAt)) this.timers.clear(`${app}/${pool}`);
      delete this.d.state.apps[app];
      await this.d.router.call('DELETE', `/apps/${encodeURIComponent(app)}`).catch(() => undefined);
      await this.persist();
    });
  }

  async view(name: string, routerView?: RouterAppView): Promise<AppView> {
    const rec = this.app(name);
    const rv =
      routerView ??
      (await this.d.router.call<{ apps: RouterAppView[] }>('GET', '/state').then(
        (s) => s.apps.find((a) => a.name === name),
        () => undefined,
      ));
    return appView(name, rec, this.d.supervisor.status(name), rv);
  }

  async status(): Promise<{ pid: number; routerPid: number | null; apps: AppView[] }> {
    const rv = await this.d.router.call<{ apps: RouterAppView[] }>('GET', '/state').catch(() => ({ apps: [] as RouterAppView[] }));
    const apps = await Promise.all(Object.keys(this.d.state.apps).map((n) => this.view(n, rv.apps.find((a) => a.name === n))));
    return { pid: process.pid, routerPid: this.d.router.pid, apps };
  }

  metrics(format: 'json' | 'prometheus'): Promise<unknown> {
    return this.d.router.call('GET', format === 'prometheus' ? '/metrics?format=prometheus' : '/metrics');
  }

  async setMetricsListen(addr: string | null): Promise<void> {
    await this.exclusive(async () => {
      if (this.d.state.metricsListen === addr) return;
      await this.d.router.call('PUT', '/settings', { metricsListen: addr });
      this.d.state.metricsListen = addr;
      await this.persist();
    });
  }

  /** Stops everything: instances, the router. The state is kept with no running processes. */
  async shutdown(): Promise<void> {
    this.timers.clearAll();
    await this.d.supervisor.stopAll();
    await this.d.router.stop();
    await this.persist();
  }
}
