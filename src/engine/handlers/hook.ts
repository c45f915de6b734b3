import { resolveHook } from '../../hooks/resolve.js';
import { runHookCommands } from '../../hooks/run.js';
import { operationEnv } from '../env.js';
import type { HookEvent } from '../../manifest/schema/hooks.js';
import type { Step } from '../../plan/steps.js';
import type { RunContext } from '../context.js';
import type { StepHandler } from './types.js';

type S = Extract<Step, { kind: 'hook' }>;

/** Runs one lifecycle event's hooks; `release` is the release they run in ('' for none). */
export async function runHook(event: HookEvent, release: string | null, ctx: RunContext, args: string[] = []): Promise<{ ran: number }> {
  const { layout, transport, loaded } = ctx;
  const releaseDir = release && (await transport.fs.stat(layout.release(release)))?.type === 'dir' ? layout.release(release) : null;
  const hooks = await resolveHook(event, loaded.manifest.hooks, releaseDir, ctx.fleet?.primary ?? true);
  for (const w of hooks.warnings) ctx.emit({ type: 'log', level: 'warn', message: w });
  if (hooks.commands.length === 0) return { ran: 0 };
  const env = operationEnv(ctx, event, release, releaseDir);
  await runHookCommands(event, hooks.commands, {
    transport,
    cwd: releaseDir ?? layout.root,
    env,
    timeoutMs: loaded.manifest.hooks.timeout,
    args,
    onLine: (line, stream) => ctx.emit({ type: 'log', level: stream === 'stderr' ? 'info' : 'debug', message: line, source: `hook ${event}` }),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  return { ran: hooks.commands.length };
}

export const hookHandler: StepHandler<S> = {
  async run(step, ctx) {
    const { ran } = await runHook(step.event, step.release || null, ctx, step.args ?? []);
    return ran === 0 ? { status: 'skipped', detail: 'no hook' } : { status: 'done', detail: `${ran} command${ran === 1 ? '' : 's'}` };
  },
};
