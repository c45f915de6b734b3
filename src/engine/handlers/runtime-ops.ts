import type { InstanceRef } from '../../plan/steps.js';
import { instanceSpecs, startTimeout } from '../../runtime/app-config.js';
import type { RuntimeClient } from '../../runtime/client.js';
import type { RunContext } from '../context.js';

export function runtimeOf(ctx: RunContext): RuntimeClient {
  if (!ctx.runtime) throw new Error('this step needs the embedded runtime, and no runtime daemon is connected');
  return ctx.runtime;
}


/**
 * Starts a release's instances and waits until the router finds each healthy. A process that
 * exits first fails it at once, with the end of its log.
 */
export async function startAndWait(ctx: RunContext, pool: string, release: string, refs: InstanceRef[], hold = false): Promise<void> {
  const rt = runtimeOf(ctx);
  const app = ctx.loaded.manifest.name;
  await rt.startInstances(app, instanceSpecs(ctx.loaded, ctx.layout, pool, release, refs), hold);
  await waitAllHealthy(ctx, refs.map((r) => r.id));
}

export function waitAllHealthy(ctx: RunContext, ids: string[]): Promise<void> {
  return runtimeOf(ctx).waitAllHealthy(ctx.loaded.manifest.name, ids, startTimeout(ctx.loaded));
}

/** Instances of the app now in the runtime, by id. */
export async function runtimeInstances(ctx: RunContext): Promise<Map<string, { release: string; pool: string; port: number; state: string; held: boolean }>> {
  const view = await runtimeOf(ctx).app(ctx.loaded.manifest.name);
  return new Map((view?.instances ?? []).map((i) => [i.id, { release: i.release, pool: i.pool, port: i.port, state: i.state, held: i.held }]));
}
