import { execChecked } from '../hosts/exec-checked.js';
import type { ServiceConfig } from '../manifest/schema/service.js';
import { shellCommand } from './commands.js';
import type { ActivationContext, ServiceManager } from './manager.js';

/** Runs a manifest command line in the new release and fails with the tail of its output. */
export async function runServiceCommand(what: string, command: string, ctx: ActivationContext, timeoutMs: number): Promise<void> {
  await execChecked(ctx.transport, shellCommand(command), `${what} "${command}"`, {
    cwd: ctx.releaseDir,
    env: ctx.env,
    timeoutMs,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.onLine ? { onLine: ctx.onLine } : {}),
  });
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
