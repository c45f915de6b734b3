// What a strategy needs from the router, read from the manifest alone: a deploy refuses a router
// that cannot carry it before anything changes (pure: no router is asked anything).
import { NotSupportedError } from '../errors.js';
import type { Manifest } from '../manifest/schema/index.js';
import type { RouterCapabilities } from '../routers/types.js';

export interface CapabilityNeed {
  capability: keyof RouterCapabilities;
  /** the manifest key that asks for it */
  key: string;
  /** what the router must do, as in "cannot <what>" */
  what: string;
}

/** The router capabilities `strategy` needs with this manifest (recreate, blue-green, and the rollback of any but rolling: none beyond a switch). */
export function neededCapabilities(m: Manifest, strategy: string): CapabilityNeed[] {
  const out: CapabilityNeed[] = [];
  // a rolling app's rollback moves its instances back the same way
  if (strategy === 'rolling' || (strategy === 'rollback' && m.deployment.strategy === 'rolling')) out.push({ capability: 'drain', key: 'deployment.strategy', what: 'drain one instance at a time (rolling)' });
  if (strategy !== 'canary') return out;
  out.push({ capability: 'weights', key: 'deployment.canary', what: 'split traffic by percentage (canary stages)' });
  if (m.deployment.canary?.header_route) out.push({ capability: 'routes', key: 'deployment.canary.header_route', what: 'route by header or cookie' });
  const routerMetrics = (m.analysis?.metrics ?? []).map((x, i) => ({ x, i })).filter(({ x }) => x.provider === 'router');
  const counted = routerMetrics.find(({ x }) => !x.name.startsWith('latency_'));
  const timed = routerMetrics.find(({ x }) => x.name.startsWith('latency_'));
  if (routerMetrics.length) out.push({ capability: 'counts', key: `analysis.metrics[${(counted ?? routerMetrics[0]!).i}]`, what: 'count requests and errors per pool (provider: router)' });
  if (timed) out.push({ capability: 'latency', key: `analysis.metrics[${timed.i}]`, what: 'measure latency per pool (provider: router)' });
  return out;
}

/** The needs this router cannot carry. */
export function missingCapabilities(caps: RouterCapabilities, m: Manifest, strategy: string): CapabilityNeed[] {
  return neededCapabilities(m, strategy).filter((n) => !caps[n.capability]);
}

/** Refuses (exit 2) a strategy the router cannot carry, naming router.type and each manifest key that needs more. */
export function refuseIncapableRouter(router: { kind: string; capabilities: RouterCapabilities }, m: Manifest, strategy: string): void {
  const missing = missingCapabilities(router.capabilities, m, strategy);
  if (missing.length === 0) return;
  throw new NotSupportedError([{ path: 'router.type', message: `${router.kind} cannot ${missing.map((n) => `${n.what} (${n.key})`).join('; cannot ')}` }], {
    hint: 'choose a router that can (embedded, nginx, haproxy), or another strategy',
  });
}
