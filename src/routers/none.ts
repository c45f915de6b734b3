// router.type none: nothing splits traffic. A single pool may "take all of it" (the app listens
// itself); anything that needs a router refuses with the key to change.
import { RouterError } from '../errors.js';
import type { LiveRouting, PoolTargets, Router, RouterCapabilities, RouteRule } from './types.js';

const refuse = (what: string): never => {
  throw new RouterError('router.type', `"none" cannot ${what}; choose a router (embedded, nginx or haproxy)`);
};

export class NoneRouter implements Router {
  readonly kind = 'none' as const;
  readonly capabilities: RouterCapabilities = { weights: false, routes: false, drain: false, counts: false, latency: false };

  async declarePools(_pools: PoolTargets[]): Promise<void> {}

  /** Nothing, or one pool at 100 (the others at 0): there is nothing to split. */
  async setWeights(weights: Record<string, number>): Promise<void> {
    const values = Object.values(weights);
    const ok = values.every((w) => w === 0 || w === 100) && values.filter((w) => w === 100).length <= 1;
    if (!ok) refuse(`split traffic between pools (${Object.entries(weights).map(([p, w]) => `${p} ${w}%`).join(', ')})`);
  }

  async setRoutes(routes: RouteRule[]): Promise<void> {
    if (routes.length > 0) refuse('route by header or cookie');
  }

  async drain(targetId: string): Promise<void> {
    refuse(`drain ${targetId}`);
  }

  async enable(targetId: string): Promise<void> {
    refuse(`put ${targetId} back into rotation`);
  }

  async live(): Promise<LiveRouting | null> {
    return null;
  }
}
