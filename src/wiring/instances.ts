// The one place that names the service and instance manager adapters, and connects them (the
// runtime daemon for `manager: process`) for the CLI and the fleet agent.
import type { RunContext } from '../engine/context.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { AppLayout } from '../release/layout.js';
import { connectRuntime, ensureRuntime, type RuntimeClient } from '../runtime/client.js';
import { serviceManager, type ServiceManager } from '../services/index.js';
import type { InstanceManager } from '../services/instance-manager.js';
import { ProcessInstances, ProcessManager } from '../services/process.js';
import { runsPools } from '../strategies/pools.js';
import { createRouter } from './router.js';

/** The runtime daemon an operation's adapters talk to, connected after they are built. */
export class RuntimeLink {
  client: RuntimeClient | undefined;
  constructor(readonly home: string) {}
  get = (): RuntimeClient | undefined => this.client;
  /** Connects to the daemon (starting it unless `connectOnly`); false when it runs and none answers. */
  async connect(connectOnly = false): Promise<{ connected: boolean; started: boolean; dir: string | null }> {
    if (connectOnly) {
      this.client = (await connectRuntime(this.home)) ?? undefined;
      return { connected: this.client !== undefined, started: false, dir: this.client?.paths.dir ?? null };
    }
    const { client, started } = await ensureRuntime(this.home);
    this.client = client;
    return { connected: true, started, dir: client.paths.dir };
  }
}

export function serviceFor(loaded: LoadedManifest, link: RuntimeLink): ServiceManager {
  return serviceManager(loaded.manifest.service, () => new ProcessManager(loaded, link.get));
}

/** What runs the app's instances side by side; undefined for the restart-only managers. */
export function instancesFor(loaded: LoadedManifest, layout: AppLayout, link: RuntimeLink): InstanceManager | undefined {
  return runsPools(loaded) ? new ProcessInstances(loaded, layout, link.get) : undefined;
}

/**
 * Gives the context its service manager, instance manager and router (not yet connected: see
 * `ctx.connectInstances`). Returns the link to connect.
 */
export function wireContext(ctx: RunContext, withService = true): RuntimeLink {
  const link = new RuntimeLink(ctx.home);
  if (withService) ctx.service = serviceFor(ctx.loaded, link);
  const instances = instancesFor(ctx.loaded, ctx.layout, link);
  if (instances) ctx.instances = instances;
  ctx.router = createRouter(ctx.loaded, { transport: ctx.transport, app: ctx.loaded.manifest.name, clock: ctx.clock }, link.get);
  ctx.connectInstances = async (connectOnly = false) => {
    if (!runsPools(ctx.loaded)) return { connected: true, started: false, note: null };
    const r = await link.connect(connectOnly);
    return { connected: r.connected, started: r.started, note: r.started ? `started the runtime daemon (${r.dir})` : null };
  };
  return link;
}
