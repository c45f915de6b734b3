import { readCurrent } from '../state/records.js';
import type { RunContext } from './context.js';
import type { Finding } from './doctor.js';

type Add = (f: Finding, fix?: () => Promise<void>) => void;

/**
 * When the app runs pools: is it served, by what, and does it agree with `current`? What runs
 * the instances is looked at when it runs (doctor does not start the runtime daemon just to look;
 * the repair does, through the wiring's `connectInstances`).
 */
export async function checkRuntime(ctx: RunContext, add: Add): Promise<void> {
  const current = await readCurrent(ctx.transport, ctx.layout);
  const app = ctx.loaded.manifest.name;
  const instances = ctx.instances;
  if (!instances) return;
  const c = await ctx.connectInstances?.(true);
  if (c && !c.connected) {
    if (current) {
      add({ severity: 'error', message: `the runtime daemon is not running: ${current} is not being served`, repair: 'start the daemon (its saved state starts the instances and the router again)' }, async () => {
        await ctx.connectInstances!();
      });
    }
    return;
  }
  const [list, live] = await Promise.all([instances.list(), ctx.router ? ctx.router.live() : Promise.resolve(null)]);
  if (live === null && list.length === 0) {
    if (current) add({ severity: 'error', message: `the runtime has no instances of ${app}: ${current} is not being served`, note: 'deploy again, or `deployer rollback --to` a release' });
    return;
  }
  const livePools = (live?.pools ?? []).filter((p) => p.weight > 0).map((p) => p.name);
  if (livePools.length === 0) {
    if (current) add({ severity: 'error', message: 'no pool of the runtime takes traffic', note: 'deploy again, or roll back' });
    return;
  }
  const serving = [...new Set(list.filter((i) => livePools.includes(i.pool)).map((i) => i.release))];
  if (current && !serving.includes(current)) add({ severity: 'warn', message: `the router sends traffic to ${serving.join(', ') || 'no instance'} (${livePools.join(', ')}) but current names ${current}`, note: 'deploy again, or roll back, to make them agree' });
  else add({ severity: 'info', message: `runtime: pool ${livePools.join(', ')} serves ${serving.join(', ')} on ${live!.where}` });
  const targets = new Map((live?.pools ?? []).flatMap((p) => p.targets).map((t) => [t.id, t]));
  const routerSays = (id: string): string => {
    const t = targets.get(id);
    if (!t) return 'not routed';
    // a router that does not check health (nginx, HAProxy as Deployer writes it) says only that it routes there
    return t.state === 'ready' ? (t.health ?? 'in rotation') : t.state;
  };
  const fine = (says: string) => says === 'healthy' || says === 'in rotation';
  const troubled = list.filter((i) => i.state !== 'running' || (livePools.includes(i.pool) && !fine(routerSays(i.id))));
  for (const i of troubled) {
    const says = routerSays(i.id);
    add({ severity: 'warn', message: `instance ${i.id} (${i.release}) is ${i.state}${!fine(says) ? `, ${says} for the router` : ''}${i.restarts ? ` after ${i.restarts} restart(s)` : ''}`, note: `see ${ctx.layout.shared}/logs/${i.id}.log` });
  }
}
