// The router's live state: apps, their pools and targets, each target with its pool of
// keep-alive connections, health state, in-flight counter and traffic counters.
import type { BlockList } from 'node:net';
import type { RouterApp, TargetState } from '../model.js';
import { UpstreamPool, type UpstreamOptions } from './http1/upstream-pool.js';
import { Traffic } from './metrics.js';
import type { CompiledRoute } from './routes.js';
import { LatencySamples } from './samples.js';
import type { Listener } from './server.js';

export class TargetRt {
  state: TargetState;
  inFlight = 0;
  lastError: string | null = null;
  okStreak = 0;
  failStreak = 0;
  /** no longer in the app's config: gets no requests, its connections close once idle */
  removed = false;
  healthTimer: NodeJS.Timeout | null = null;
  checking = false;
  /** called (and cleared) when inFlight drops to 0 */
  idleWaiters: (() => void)[] | null = null;
  readonly traffic = new Traffic();
  readonly upstreams: UpstreamPool;
  /** this target's own health path (undefined: the app's) */
  healthPath: string | null | undefined;
  /** the release it runs (a Prometheus label) */
  releaseName: string | undefined;
  /** when the router first saw it (monotonic ms), and whether a check ever passed */
  addedAt = 0;
  seenHealthy = false;

  constructor(
    readonly id: string,
    readonly host: string,
    readonly port: number,
    public pool: PoolRt,
    initial: 'healthy' | 'unknown',
    opts: UpstreamOptions,
  ) {
    this.state = initial;
    this.upstreams = new UpstreamPool(host, port, opts);
  }

  /** One request or connection to this target ended. */
  release(): void {
    if (--this.inFlight === 0 && this.idleWaiters !== null) {
      const ws = this.idleWaiters;
      this.idleWaiters = null;
      for (const w of ws) w();
    }
  }
}

export class PoolRt {
  targets: TargetRt[] = [];
  rr = 0;
  readonly traffic = new Traffic();
  /** latencies of the requests counted in traffic's histogram, newest last */
  readonly samples = new LatencySamples();
  constructor(readonly name: string) {}
}

/** Something waiting for the app to get a routable target (a held request). */
export interface AvailabilityWaiter {
  wake(): void;
}

export class AppRt {
  spec: RouterApp;
  pools: PoolRt[] = [];
  /** weight of pools[i]; replaced as a whole, never mutated, so a request sees old or new */
  weights: number[] = [];
  /** header/cookie routes; null when the app has none (requests then skip them entirely) */
  routes: CompiledRoute[] | null = null;
  /** spec.trustedProxies as a BlockList, or null; a new one at each config change */
  trusted: BlockList | null = null;
  readonly targets = new Map<string, TargetRt>();
  listener: Listener | null = null;
  /** deleted: held requests get 503 at once */
  removed = false;
  readonly waiters = new Set<AvailabilityWaiter>();
  constructor(spec: RouterApp) {
    this.spec = spec;
  }

  poolIndex(name: string): number {
    for (let i = 0; i < this.pools.length; i++) if (this.pools[i]!.name === name) return i;
    return -1;
  }

  /** Wakes the requests held for a routable target (a target came up, weights or config changed). */
  wake(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w.wake();
  }
}
