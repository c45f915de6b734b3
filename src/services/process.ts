import type { LoadedManifest } from '../manifest/load.js';
import { AppLayout } from '../release/layout.js';
import { instanceSpecs, poolInstances, startTimeout } from '../runtime/app-config.js';
import type { RuntimeClient } from '../runtime/client.js';
import type { ActivationContext, ServiceManager } from './manager.js';

/**
 * `manager: process` with the recreate strategy: every instance of the app is drained and stopped,
 * then the release starts in pool `stable`. The router holds requests that arrive in between
 * (router.unavailable_wait), so even this "downtime allowed" strategy rarely shows an error.
 */
export class ProcessManager implements ServiceManager {
  readonly kind = 'process';
  constructor(
    private readonly loaded: LoadedManifest,
    private readonly runtime: () => RuntimeClient | undefined,
  ) {}

  async restart(ctx: ActivationContext): Promise<void> {
    const rt = this.runtime();
    if (!rt) throw new Error('service manager "process" needs the runtime daemon, and none is connected');
    const app = this.loaded.manifest.name;
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
