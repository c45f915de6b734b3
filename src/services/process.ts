import type { LoadedManifest } from '../manifest/load.js';
import { AppLayout } from '../release/layout.js';
import { DeployFailed } from '../errors.js';
import { appConfig, instanceSpecs } from '../runtime/app-config.js';
import type { RuntimeClient } from '../runtime/client.js';
import { ControlApiError } from '../runtime/unix-json.js';
import { poolInstances, startTimeout } from '../strategies/pools.js';
import type { InstanceManager, InstanceRef, RunningInstance } from './instance-manager.js';
import type { ActivationContext, ServiceManager } from './manager.js';

/**
 * `manager: process`: the runtime daemon's supervisor runs the instances of each release in
 * pools, side by side. As a ServiceManager (recreate) every instance of the app is drained and
 * stopped, then the release starts in pool `stable`; the embedded router holds requests that
 * arrive in between (router.unavailable_wait), so even this "downtime allowed" strategy rarely
 * shows an error.
 */
export class ProcessManager implements ServiceManager {
  readonly kind = 'process';
  constructor(
    private readonly loaded: LoadedManifest,
    private readonly runtime: () => RuntimeClient | undefined,
  ) {}

  private get app(): string {
    return this.loaded.manifest.name;
  }

  private rt(): RuntimeClient {
    return daemonOf(this.runtime);
  }

  async restart(ctx: ActivationContext): Promise<void> {
    const rt = this.rt();
    const app = this.app;
    const view = await rt.app(app);
    const running = (view?.instances ?? []).map((i) => i.id);
    if (running.length > 0) await rt.stopInstances(app, running, true);
    const refs = poolInstances(this.loaded, 'stable');
    await rt.startInstances(app, instanceSpecs(this.loaded, new AppLayout(ctx.appRoot), 'stable', ctx.releaseId, refs));
    const weights: Record<string, number> = Object.fromEntries(Object.keys(view?.weights ?? {}).map((p) => [p, 0]));
    weights.stable = 100;
    await rt.setWeights(app, weights);
    await rt.waitAllHealthy(app, refs.map((r) => r.id), startTimeout(this.loaded));
  }
}

/**
 * `manager: process` as an InstanceManager: the daemon's supervisor starts each release's
 * instances in their pool, and health-checks them (with any router: the embedded one routes to
 * them, another router is given them as targets).
 */
export class ProcessInstances implements InstanceManager {
  readonly kind = 'process';
  constructor(
    private readonly loaded: LoadedManifest,
    private readonly layout: AppLayout,
    private readonly runtime: () => RuntimeClient | undefined,
  ) {}

  private get app(): string {
    return this.loaded.manifest.name;
  }

  private rt(): RuntimeClient {
    return daemonOf(this.runtime);
  }

  /**
   * Starts instances of a release in a pool. In a pool that has traffic they start on hold (the
   * router's contract: a new target there is down until `enable`), so the deploy checks them first.
   */
  async start(pool: string, release: string, instances: InstanceRef[]): Promise<void> {
    const rt = this.rt();
    const view = await rt.app(this.app);
    const hold = (view?.weights[pool] ?? 0) > 0;
    await rt.startInstances(this.app, instanceSpecs(this.loaded, this.layout, pool, release, instances), hold);
  }

  async waitHealthy(ids: string[], timeoutMs: number = startTimeout(this.loaded)): Promise<void> {
    await this.rt().waitAllHealthy(this.app, ids, timeoutMs);
  }

  /** Drained out of the router first (in-flight requests finish), then stopped. */
  async stop(ids: string[]): Promise<void> {
    try {
      await this.rt().stopInstances(this.app, ids, true);
    } catch (e) {
      // the daemon no longer knows the app (a failed first deploy made it forget): nothing runs
      if (e instanceof ControlApiError && e.status === 404) return;
      throw e;
    }
  }

  async stopPoolAfter(pool: string, delayMs: number | null): Promise<{ stopAt: string | null }> {
    const view = await this.rt().stopPoolAfter(this.app, pool, delayMs);
    return { stopAt: view.stopAt[pool] ?? null };
  }

  async restart(id: string): Promise<void> {
    const i = (await this.list()).find((x) => x.id === id);
    if (!i) throw new Error(`instance ${id} of ${this.app} is not running`);
    await this.stop([id]);
    await this.start(i.pool, i.release, [{ id, port: i.port }]);
  }

  async list(): Promise<RunningInstance[]> {
    const view = await this.rt().app(this.app);
    return (view?.instances ?? []).map((i) => ({ id: i.id, port: i.port, pool: i.pool, release: i.release, state: i.state, host: '127.0.0.1', restarts: i.restarts }));
  }

  /** Tells the daemon about the app (router port, host names, health path) before anything runs. */
  async open(): Promise<void> {
    const rt = this.rt();
    const m = this.loaded.manifest;
    try {
      await rt.putApp(this.app, appConfig(this.loaded));
      const v = m.router.metrics_listen;
      if (v !== undefined) await rt.setMetricsListen(typeof v === 'number' ? `127.0.0.1:${v}` : v);
    } catch (e) {
      // the daemon refused (say the router's port is taken): nothing was changed
      if (e instanceof ControlApiError) throw new DeployFailed(e.message);
      throw e;
    }
  }

  /** A first deploy left nothing running: the daemon forgets the app (and frees the router's port). */
  async forgetIfEmpty(): Promise<void> {
    const rt = this.rt();
    const view = await rt.app(this.app).catch(() => null);
    if (view && view.instances.length === 0) await rt.removeApp(this.app).catch(() => undefined);
  }
}

function daemonOf(runtime: () => RuntimeClient | undefined): RuntimeClient {
  const rt = runtime();
  if (!rt) throw new Error('service manager "process" needs the runtime daemon, and none is connected');
  return rt;
}
