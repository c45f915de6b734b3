import { ensureRuntime } from '../runtime/client.js';
import { readCurrent } from '../state/records.js';
import type { RunContext } from './context.js';
import type { Finding } from './doctor.js';

type Add = (f: Finding, fix?: () => Promise<void>) => void;

/**
 * On the embedded runtime: is the app served, by what, and does it agree with `current`?
 * `ctx.runtime` is the daemon when it runs (doctor does not start it just to look).
 */
export async function checkRuntime(ctx: RunContext, add: Add): Promise<void> {
  const current = await readCurrent(ctx.transport, ctx.layout);
  const app = ctx.loaded.manifest.name;
  if (!ctx.runtime) {
    if (current) {
      add({ severity: 'error', message: `the runtime daemon is not running: ${current} is not being served`, repair: 'start the daemon (its saved state starts the instances and the router again)' }, async () => {
        ctx.runtime = (await ensureRuntime(ctx.home)).client;
      });
    }
    return;
  }
  const view = await ctx.runtime.app(app);
  if (!view) {
    if (current) add({ severity: 'error', message: `the runtime has no instances of ${app}: ${current} is not being served`, note: 'deploy again, or `deployer rollback --to` a release' });
    return;
  }
  const live = Object.entries(view.weights).filter(([, w]) => w > 0).map(([p]) => p);
  if (live.length === 0) {
    if (current) add({ severity: 'error', message: 'no pool of the runtime takes traffic', note: 'deploy again, or roll back' });
    return;
  }
  const serving = [...new Set(view.instances.filter((i) => live.includes(i.pool)).map((i) => i.release))];
  if (current && !serving.includes(current)) add({ severity: 'warn', message: `the router sends traffic to ${serving.join(', ') || 'no instance'} (${live.join(', ')}) but current names ${current}`, note: 'deploy again, or roll back, to make them agree' });
  else add({ severity: 'info', message: `runtime: pool ${live.join(', ')} serves ${serving.join(', ')} on ${view.listen.host}:${view.listen.port}` });
  const troubled = view.instances.filter((i) => i.state !== 'running' || (live.includes(i.pool) && i.traffic !== 'healthy'));
  for (const i of troubled) add({ severity: 'warn', message: `instance ${i.id} (${i.release}) is ${i.state}${i.traffic !== 'healthy' ? `, ${i.traffic} for the router` : ''}${i.restarts ? ` after ${i.restarts} restart(s)` : ''}`, note: `see ${ctx.layout.shared}/logs/${i.id}.log` });
}
