// Cumulative per-pool traffic (status classes, router errors, latency histogram, recent latency
// samples) built from one record per request, for adapters that learn about requests after the
// fact (an access log). Same buckets and sample ring as the embedded router's, so judges compare
// like with like.
import { CLASS_ERROR, statusClass, Traffic } from '../runtime/router/metrics.js';
import { LatencySamples } from '../runtime/router/samples.js';
import type { PoolTraffic } from './types.js';

export interface RequestRecord {
  pool: string;
  /** the status the client got */
  status: number;
  latencyMs: number;
  /** no response came from a target: the router answered (502/503/504) by itself */
  noResponse: boolean;
}

export class TrafficAccumulator {
  private readonly pools = new Map<string, { traffic: Traffic; samples: LatencySamples }>();

  record(r: RequestRecord): void {
    let p = this.pools.get(r.pool);
    if (!p) this.pools.set(r.pool, (p = { traffic: new Traffic(), samples: new LatencySamples() }));
    p.traffic.record(r.noResponse ? CLASS_ERROR : statusClass(r.status), r.latencyMs);
    p.samples.record(r.latencyMs);
  }

  /** Every pool seen so far, plus `pools` (zeros when they had no request yet). */
  snapshot(pools: readonly string[] = []): Record<string, PoolTraffic> {
    const out: Record<string, PoolTraffic> = {};
    for (const name of pools) out[name] = { ...new Traffic().toJSON(), samples: { seq: 0, latencyMs: [] } };
    for (const [name, p] of this.pools) out[name] = { ...p.traffic.toJSON(), samples: p.samples.toJSON() };
    return out;
  }
}
