import type { ServiceConfig } from '../manifest/schema/service.js';
import type { ActivationContext, ServiceManager } from './manager.js';
import { runServiceCommand, ScriptManager } from './script.js';
import { SignalManager } from './signal.js';

/** `manager: none`: nothing to restart; the reload command, if any, still runs. */
class NoManager implements ServiceManager {
  readonly kind = 'none';
  constructor(private readonly cfg: ServiceConfig) {}
  async restart(ctx: ActivationContext): Promise<void> {
    if (this.cfg.reload_command) await runServiceCommand('reload command', this.cfg.reload_command, ctx, this.cfg.restart_timeout);
  }
}

export function serviceManager(cfg: ServiceConfig, processManager?: () => ServiceManager): ServiceManager {
  switch (cfg.manager) {
    case 'process':
      if (!processManager) throw new Error('service manager "process" needs the runtime');
      return processManager();
    case 'script':
      return new ScriptManager(cfg);
    case 'signal':
      return new SignalManager(cfg);
    case 'none':
      return new NoManager(cfg);
    default:
      throw new Error(`service manager ${cfg.manager} is not built yet`);
  }
}

export type { ActivationContext, ServiceManager } from './manager.js';
