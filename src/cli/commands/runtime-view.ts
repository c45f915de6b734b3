import type { AppView } from '../../runtime/client.js';
import type { Out } from './common.js';

/** One app in the runtime: router address, pools with weights, instances with their health. */
export function printRuntimeApp(out: Out, app: AppView): void {
  const s = out.style;
  out.line(s.bold(`  ${app.name}: ${app.listen ? `router http://${app.listen.host}:${app.listen.port}` : 'no listener (another router serves it)'}${app.hostnames.length ? ` (${app.hostnames.join(', ')})` : ''}`));
  const pools = [...new Set([...Object.keys(app.weights), ...app.instances.map((i) => i.pool)])].sort();
  for (const pool of pools) {
    const w = app.weights[pool] ?? 0;
    const stop = app.stopAt[pool] ? `, stops at ${app.stopAt[pool]}` : '';
    // with no listener the weights are another router's (shown under `router:`), not the daemon's
    out.line(`    pool ${pool}${app.listen ? `: weight ${w > 0 ? s.green(String(w)) : w}` : ''}${stop}`);
    for (const i of app.instances.filter((x) => x.pool === pool)) {
      const health = i.traffic === 'healthy' ? s.green(i.traffic) : i.traffic === 'draining' || i.traffic === 'unknown' ? s.yellow(i.traffic) : s.red(i.traffic);
      const restarts = i.restarts ? `, ${i.restarts} restart(s)` : '';
      out.line(`      ${i.id.padEnd(10)} :${i.port}  ${i.release}  ${i.state}${i.pid ? ` pid ${i.pid}` : ''}  ${health}${i.held ? s.yellow(', held out of traffic until checked') : ''}${i.inFlight ? `, ${i.inFlight} in flight` : ''}${restarts}${i.lastError && i.traffic !== 'healthy' ? s.dim(` (${i.lastError})`) : ''}`);
    }
  }
}
