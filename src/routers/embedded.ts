// The embedded router (Deployer's own, run by the runtime daemon) behind the Router interface.
// Its pools are the process manager's instances: the daemon registers them as targets itself.
import { RouterError } from '../errors.js';
import type { AppView, RuntimeClient } from '../runtime/client.js';
import { ControlApiError } from '../runtime/unix-json.js';
import { describeRoute, describeShares, foldPreviews } from './preview.js';
import type { LivePool, LiveRouting, LiveTarget, PoolTargets, PoolTraffic, Router, RouterAction, RouterActionPreview, RouterCapabilities, RouteRule } from './types.js';

export class EmbeddedRouter implements Router {
  readonly kind = 'embedded' as const;
  readonly capabilities: RouterCapabilities = { weights: true, routes: true, drain: true, counts: true, latency: true };

  /** @param runtime the daemon's client (a function: it may be connected after the router is built) */
  constructor(
    private readonly runtime: () => RuntimeClient,
    private readonly app: string,
  ) {}

  private get rt(): RuntimeClient {
    return this.runtime();
  }

  /** The daemon makes the process manager's instances its targets; anything else cannot be routed yet. */
  async declarePools(pools: PoolTargets[]): Promise<void> {
    const view = await this.rt.app(this.app);
    const ours = new Map((view?.instances ?? []).map((i) => [i.id, i]));
    for (const p of pools) {
      for (const t of p.targets) {
        const i = ours.get(t.id);
        if (!i || i.port !== t.port || i.pool !== p.name) {
          throw new RouterError('router.type', `the embedded router sends traffic to the instances of \`service.manager: process\` only; ${t.id} (${t.host}:${t.port}) in pool ${p.name} is not one of them`);
        }
      }
    }
  }

  /** One update; pools left out that have traffic now get 0. */
  async setWeights(weights: Record<string, number>): Promise<void> {
    try {
      // one call: the pools left out get 0 in the same update
      await this.rt.setWeights(this.app, weights, true);
      return;
    } catch (e) {
      // a daemon started by an older Deployer does not know `only`: read its pools first
      if (!(e instanceof ControlApiError && e.status === 400)) throw e;
    }
    const view = await this.rt.app(this.app);
    const all: Record<string, number> = {};
    for (const [pool, w] of Object.entries(view?.weights ?? {})) if (w > 0 && !(pool in weights)) all[pool] = 0;
    await this.rt.setWeights(this.app, { ...all, ...weights });
  }

  async setRoutes(routes: RouteRule[]): Promise<void> {
    await this.rt.setRoutes(this.app, routes);
  }

  /** Back on hold in the daemon: out of rotation, in-flight requests finish. */
  async drain(targetId: string, timeoutMs: number): Promise<void> {
    await this.rt.hold(this.app, targetId, timeoutMs);
  }

  async enable(targetId: string): Promise<void> {
    await this.rt.release(this.app, targetId);
  }

  async live(): Promise<LiveRouting | null> {
    const view = await this.rt.app(this.app);
    return view ? liveOf(view) : null;
  }

  async traffic(): Promise<Record<string, PoolTraffic>> {
    return (await this.rt.traffic(this.app)).pools;
  }

  /** The daemon's weights now (none when it does not run: a dry run starts nothing), then each change. */
  async preview(actions: RouterAction[]): Promise<RouterActionPreview[]> {
    const weights = await Promise.resolve()
      .then(() => this.rt.app(this.app))
      .then((v) => v?.weights ?? {})
      .catch(() => ({}));
    return foldPreviews(weights, actions, previewEmbedded);
  }

}

/**
 * What a change of the embedded router would do: the weights (and routes, holds) it sets on the
 * runtime daemon; no file. Targets are the daemon's own instances: declaring them changes nothing.
 */
export function previewEmbedded(weights: Record<string, number>, a: RouterAction): { lines: string[]; next: Record<string, number> } {
  switch (a.kind) {
    case 'add_targets':
    case 'remove_targets':
      return { lines: [], next: weights };
    case 'weights': {
      // pools left out that have traffic get 0, as setWeights does
      const next = { ...Object.fromEntries(Object.entries(weights).filter(([p, w]) => w > 0 && !(p in a.weights)).map(([p]) => [p, 0])), ...a.weights };
      return { lines: [`runtime daemon: set weights ${describeShares(Object.keys(next), next)}`], next };
    }
    case 'routes':
      return { lines: [a.routes.length ? `runtime daemon: set routes ${a.routes.map(describeRoute).join('; ')}` : 'runtime daemon: remove the header/cookie routes'], next: weights };
    case 'drain':
      return { lines: [`runtime daemon: hold ${a.id} (out of rotation, in-flight requests finish)`], next: weights };
    case 'enable':
      return { lines: [`runtime daemon: release ${a.id} into rotation`], next: weights };
  }
}

/** The daemon's view of an app as any router's live state. */
export function liveOf(view: AppView): LiveRouting {
  const names = [...new Set([...Object.keys(view.weights), ...view.instances.map((i) => i.pool)])].sort();
  const pools: LivePool[] = names.map((name) => ({
    name,
    weight: view.weights[name] ?? 0,
    targets: view.instances
      .filter((i) => i.pool === name)
      .map(
        (i): LiveTarget => ({
          id: i.id,
          host: '127.0.0.1',
          port: i.port,
          release: i.release,
          state: i.held || i.traffic === 'disabled' || i.traffic === 'not routed' ? 'down' : i.traffic === 'draining' ? 'draining' : 'ready',
          health: i.traffic === 'healthy' ? 'healthy' : i.traffic === 'unhealthy' ? 'unhealthy' : 'unknown',
        }),
      ),
  }));
  return { pools, routes: view.routes, where: view.listen ? `${view.listen.host}:${view.listen.port}` : 'embedded router (no listener)' };
}
