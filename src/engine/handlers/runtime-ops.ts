import { HealthCheckFailed } from '../../errors.js';
import type { InstanceRef } from '../../plan/steps.js';
import { instanceSpecs, startTimeout } from '../../runtime/app-config.js';
import type { RuntimeClient } from '../../runtime/client.js';
import type { RunContext } from '../context.js';

export function runtimeOf(ctx: RunContext): RuntimeClient {
  if (!ctx.runtime) throw new Error('this step needs the embedded runtime, and no runtime daemon is connected');
  return ctx.runtime;
}

/** How long a new instance may take to pass the router's check: the longest health check timeout (30 s without checks). */
export function startTimeoutMs(ctx: RunContext): number {
  return startTimeout(ctx.loaded);
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

export async function waitAllHealthy(ctx: RunContext, ids: string[]): Promise<void> {
  const rt = runtimeOf(ctx);
  const app = ctx.loaded.manifest.name;
  const results = await Promise.all(ids.map(async (id) => ({ id, ...(await rt.waitHealthy(app, id, startTimeoutMs(ctx))) })));
  const bad = results.filter((r) => !r.healthy);
  if (bad.length > 0) {
    const tails = bad.filter((b) => b.logTail?.trim()).map((b) => `--- last lines of ${b.id}'s log ---\n${b.logTail!.trimEnd()}`);
    throw new HealthCheckFailed([bad.map((b) => b.detail).join('; '), ...tails].join('\n'));
  }
}

/** Instances of the app now in the runtime, by id. */
export async function runtimeInstances(ctx: RunContext): Promise<Map<string, { release: string; pool: string; port: number; state: string; held: boolean }>> {
  const view = await runtimeOf(ctx).app(ctx.loaded.manifest.name);
  return new Map((view?.instances ?? []).map((i) => [i.id, { release: i.release, pool: i.pool, port: i.port, state: i.state, held: i.held }]));
}
