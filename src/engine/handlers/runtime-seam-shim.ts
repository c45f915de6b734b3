// TEMPORARY (issue 12, branch issue12-steps): until the seams branch sets ctx.router and
// ctx.instances, the single-action rolling and canary handlers reach the embedded runtime through
// this minimal Router/InstanceManager over the RuntimeClient. At merge: delete this file and
// replace `seams(ctx).router` by `routerOf(ctx)` and `seams(ctx).instances` by `instancesOf(ctx)`.
import { RouterError } from '../../errors.js';
import { instanceSpecs } from '../../runtime/app-config.js';
import type { Router } from '../../routers/types.js';
import type { InstanceManager } from '../../services/instance-manager.js';
import { instancesOf, routerOf, type RunContext } from '../context.js';
import { runtimeOf } from './runtime-ops.js';

const NO_CAPS = { weights: true, routes: true, drain: true, counts: true, latency: true };

/**
 * The Router of the context, or one over the runtime daemon. The daemon drains an instance as it
 * stops it and has no drain without a stop, so here `drain` leaves the target in rotation (the
 * stop_instance step that follows drains it) and `enable` releases a target held out of traffic.
 */
function runtimeRouter(ctx: RunContext): Router {
  const rt = runtimeOf(ctx);
  const app = ctx.loaded.manifest.name;
  const unsupported = (what: string) => () => Promise.reject(new RouterError('router', `${what} is not in the temporary runtime shim`));
  return {
    kind: 'embedded',
    capabilities: NO_CAPS,
    declarePools: unsupported('declarePools'),
    setWeights: async (weights) => void (await rt.setWeights(app, weights)),
    setRoutes: async (routes) => void (await rt.setRoutes(app, routes)),
    drain: async () => undefined,
    enable: async (id) => {
      const view = await rt.app(app);
      if ((view?.instances ?? []).some((i) => i.id === id && i.held)) await rt.release(app, id);
    },
    live: () => Promise.resolve(null),
  };
}

/** The InstanceManager of the context, or one over the runtime daemon (instances start held out of traffic). */
function runtimeInstances(ctx: RunContext): InstanceManager {
  const rt = runtimeOf(ctx);
  const app = ctx.loaded.manifest.name;
  return {
    kind: 'process',
    start: async (pool, release, refs) => void (await rt.startInstances(app, instanceSpecs(ctx.loaded, ctx.layout, pool, release, refs), true)),
    waitHealthy: (ids, timeoutMs) => rt.waitAllHealthy(app, ids, timeoutMs),
    stop: async (ids) => void (await rt.stopInstances(app, ids, true)),
    stopPoolAfter: async (pool, delayMs) => ({ stopAt: (await rt.stopPoolAfter(app, pool, delayMs)).stopAt[pool] ?? null }),
    restart: () => Promise.reject(new Error('restart is not in the temporary runtime shim')),
    list: async () => ((await rt.app(app))?.instances ?? []).map((i) => ({ id: i.id, port: i.port, pool: i.pool, release: i.release, state: i.state, host: '127.0.0.1' })),
  };
}

/** TEMPORARY: the context's Router and InstanceManager, or stand-ins over its runtime client. */
export function seams(ctx: RunContext): { router: Router; instances: InstanceManager } {
  return {
    router: ctx.router ? routerOf(ctx) : runtimeRouter(ctx),
    instances: ctx.instances ? instancesOf(ctx) : runtimeInstances(ctx),
  };
}
