import { CommandFailed } from '../errors.js';
import type { ServiceConfig } from '../manifest/schema/service.js';
import { describeExit } from '../util/process.js';
import { shellCommand } from './commands.js';
import type { ActivationContext, ServiceManager } from './manager.js';

/** Runs a manifest command line in the new release and fails with the tail of its output. */
export async function runServiceCommand(what: string, command: string, ctx: ActivationContext, timeoutMs: number): Promise<void> {
  const tail: string[] = [];
  const r = await ctx.transport.exec(shellCommand(command), {
    cwd: ctx.releaseDir,
    env: ctx.env,
    timeoutMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onLine: (line, stream) => {
      tail.push(line);
      if (tail.length > 10) tail.shift();
      ctx.onLine?.(line, stream);
    },
  });
  if (r.code !== 0 || r.timedOut || r.spawnError) {
    const out = tail.filter((l) => l.trim());
    throw new CommandFailed(`${what} "${command}" ${describeExit(r, timeoutMs)}${out.length ? `\n${out.map((l) => `    | ${l}`).join('\n')}` : ''}`);
  }
}

/** `manager: script`: a restart command (seed 000 §4.2), then the optional reload command. */
export class ScriptManager implements ServiceManager {
  readonly kind = 'script';
  constructor(private readonly cfg: ServiceConfig) {}
  async restart(ctx: ActivationContext): Promise<void> {
    await runServiceCommand('restart command', this.cfg.restart_command!, ctx, this.cfg.restart_timeout);
    if (this.cfg.reload_command) await runServiceCommand('reload command', this.cfg.reload_command, ctx, this.cfg.restart_timeout);
  }
}
