import { isAbsolute, join } from 'node:path';
import { CommandFailed } from '../errors.js';
import type { ServiceConfig } from '../manifest/schema/service.js';
import { describeExit } from '../util/process.js';
import { signalCommand } from './commands.js';
import type { ActivationContext, ServiceManager } from './manager.js';
import { runServiceCommand } from './script.js';

/** `manager: signal`: send a signal to the pid in a pid file, so the app reloads itself (seed 000 §4.2). */
export class SignalManager implements ServiceManager {
  readonly kind = 'signal';
  constructor(private readonly cfg: ServiceConfig) {}

  pidFile(appRoot: string): string {
    const f = this.cfg.pid_file!;
    return isAbsolute(f) ? f : join(appRoot, f);
  }

  async restart(ctx: ActivationContext): Promise<void> {
    const file = this.pidFile(ctx.appRoot);
    const text = await ctx.transport.fs.readText(file);
    if (text === null) throw new CommandFailed(`pid file ${file} does not exist: nothing to send ${this.cfg.signal} to`);
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 1) throw new CommandFailed(`pid file ${file} does not hold a pid (found ${JSON.stringify(text.trim().slice(0, 40))})`);
    if (!(await ctx.transport.processAlive({ pid }))) throw new CommandFailed(`process ${pid} from ${file} is not running`);
    const r = await ctx.transport.exec(signalCommand(this.cfg.signal, pid), { timeoutMs: 10_000 });
    if (r.code !== 0) throw new CommandFailed(`kill -s ${this.cfg.signal} ${pid} ${describeExit(r)}: ${r.stderr.trim()}`);
    if (this.cfg.reload_command) await runServiceCommand('reload command', this.cfg.reload_command, ctx, this.cfg.restart_timeout);
  }
}
