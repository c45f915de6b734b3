import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { systemClock } from '../../util/clock.js';
import { createRouter } from '../../wiring/router.js';
import { openApp } from '../context.js';
import { globals, output } from './common.js';

export function registerRouter(program: Command): void {
  const router = program.command('router').description("the router in front of the app (router.type): set-up and what it serves");
  router
    .command('init')
    .description("write the file Deployer owns in your nginx or HAProxy (nothing in rotation yet) when it does not exist, so the proxy can load it before the first deploy")
    .action(async (_opts: unknown, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const { loaded, t } = await openApp(o);
      const r = createRouter(loaded, { transport: t, app: loaded.manifest.name, clock: systemClock }, () => undefined);
      if (!r.init) throw new UsageError(`router.type ${loaded.manifest.router.type} has no file of Deployer's to write: nothing to do`);
      const { file, written } = await r.init();
      if (out.isJson) return out.json({ router: r.kind, file, written });
      out.line(written ? `wrote ${file} (no server in rotation yet): reload ${r.kind} to load it, then deploy` : `${file} exists: left as it is`);
    });
}
