import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { connectRuntime, ensureRuntime, stopRuntime, type RuntimeStatus } from '../../runtime/client.js';
import { runtimePaths } from '../../runtime/paths.js';
import { deployerHome } from '../context.js';
import { globals, output, type Out } from './common.js';
import { printRuntimeApp } from './runtime-view.js';

function printStatus(out: Out, st: RuntimeStatus, dir: string): void {
  out.line(`runtime daemon pid ${st.pid}, router pid ${st.routerPid ?? out.style.red('not running')} (${dir})`);
  if (st.apps.length === 0) out.line(out.style.dim('  no apps'));
  for (const app of st.apps) printRuntimeApp(out, app);
}

export function registerRuntime(program: Command): void {
  program
    .command('runtime <action>')
    .description('start|stop|status|metrics of the embedded runtime: the process supervisor and router daemon (one per user); metrics prints the router\'s Prometheus text (--json: per app, pool and instance)')
    .action(async (action: string, _o, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const home = deployerHome();
      const dir = runtimePaths(home).dir;
      switch (action) {
        case 'start': {
          const { client, started } = await ensureRuntime(home);
          const st = await client.status();
          if (out.isJson) return out.json({ running: true, started, ...st });
          out.line(started ? `started the runtime daemon (pid ${st.pid})` : `the runtime daemon is already running (pid ${st.pid})`);
          return;
        }
        case 'stop': {
          const stopped = await stopRuntime(home);
          if (out.isJson) return out.json({ running: false, stopped });
          out.line(stopped ? 'stopped the runtime: every instance and the router' : 'the runtime daemon is not running');
          return;
        }
        case 'status': {
          const client = await connectRuntime(home);
          if (!client) {
            if (out.isJson) return out.json({ running: false });
            out.line(`the runtime daemon is not running (${dir})`);
            return;
          }
          const st = await client.status();
          if (out.isJson) return out.json({ running: true, ...st });
          printStatus(out, st, dir);
          return;
        }
        case 'metrics': {
          const client = await connectRuntime(home);
          if (!client) throw new UsageError(`the runtime daemon is not running (${dir})`);
          if (out.isJson) return out.json(await client.metrics('json'));
          process.stdout.write(String(await client.metrics('prometheus')));
          return;
        }
        default:
          throw new UsageError(`unknown runtime action "${action}" (expected start, stop, status or metrics)`);
      }
    });
}
