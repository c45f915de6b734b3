import { hookEnv } from '../hooks/run.js';
import type { HookEvent } from '../manifest/schema/hooks.js';
import type { RunContext } from './context.js';

/** The environment of a hook or service command of this operation (DESIGN §5). */
export function operationEnv(ctx: RunContext, event: HookEvent | 'restart', release: string | null, releaseDir: string | null): NodeJS.ProcessEnv {
  return hookEnv({
    event,
    appRoot: ctx.layout.root,
    releaseDir,
    releaseId: release,
    strategy: ctx.strategy,
    host: ctx.hostName,
    deployId: ctx.deployId,
    timestamp: ctx.clock.now().toISOString(),
    previousRelease: ctx.plan?.previous ?? null,
    ...(ctx.data.version ? { version: ctx.data.version } : {}),
    environment: ctx.loaded.manifest.environment,
  });
}
