// Prometheus text exposition (version 0.0.4) of the router's metrics, rendered on scrape.
import type { AppMetrics, LatencyHistogram, RouterAppView, StatusCounts } from '../model.js';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Label value escaping per the exposition format: backslash, double quote, newline. */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function labels(pairs: Record<string, string>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(pairs)) parts.push(`${k}="${escapeLabel(v)}"`);
  return `{${parts.join(',')}}`;
}

const CLASS_LABEL: Record<keyof StatusCounts, string> = { '1xx': '1xx', '2xx': '2xx', '3xx': '3xx', '4xx': '4xx', '5xx': '5xx', errors: 'error' };

function histogram(out: string[], name: string, l: Record<string, string>, h: LatencyHistogram): void {
  let cum = 0;
  for (let i = 0; i < h.boundsMs.length; i++) {
    cum += h.counts[i] ?? 0;
    out.push(`${name}_bucket${labels({ ...l, le: String(h.boundsMs[i]! / 1000) })} ${cum}`);
  }
  cum += h.counts[h.boundsMs.length] ?? 0;
  out.push(`${name}_bucket${labels({ ...l, le: '+Inf' })} ${cum}`);
  out.push(`${name}_sum${labels(l)} ${h.sumMs / 1000}`);
  out.push(`${name}_count${labels(l)} ${h.count}`);
}

/** A listener's client connections: open now, and closed at accept over a cap (router.max_connections*). */
export interface ListenerConns {
  listen: string;
  open: number;
  refusedTotal: number;
  refusedPerClient: number;
}

function connections(listeners: ListenerConns[]): string[] {
  const open = ['# HELP deployer_router_connections Open client connections (upgraded ones included), per listener.', '# TYPE deployer_router_connections gauge'];
  const refused = ['# HELP deployer_router_connections_refused_total Client connections closed at accept, per listener, by the cap they were over (max_connections, max_connections_per_client).', '# TYPE deployer_router_connections_refused_total counter'];
  for (const l of listeners) {
    open.push(`deployer_router_connections${labels({ listen: l.listen })} ${l.open}`);
    refused.push(`deployer_router_connections_refused_total${labels({ listen: l.listen, cap: 'max_connections' })} ${l.refusedTotal}`);
    refused.push(`deployer_router_connections_refused_total${labels({ listen: l.listen, cap: 'max_connections_per_client' })} ${l.refusedPerClient}`);
  }
  return [...open, ...refused];
}

export function renderPrometheus(metrics: AppMetrics[], views: RouterAppView[], listeners: ListenerConns[] = []): string {
  const req: string[] = ['# HELP deployer_router_requests_total Requests proxied, per target, by status class (error: the router answered 502/503/504).', '# TYPE deployer_router_requests_total counter'];
  const preq: string[] = ['# HELP deployer_router_pool_requests_total Requests per pool by status class, counting those the router answered with no target (error).', '# TYPE deployer_router_pool_requests_total counter'];
  const dur: string[] = ['# HELP deployer_router_request_duration_seconds Time from request received to response finished, per pool.', '# TYPE deployer_router_request_duration_seconds histogram'];
  const tdur: string[] = ['# HELP deployer_router_target_request_duration_seconds Time from request received to response finished, per target.', '# TYPE deployer_router_target_request_duration_seconds histogram'];
  const releases = new Map<string, Map<string, string>>();
  for (const app of views) releases.set(app.name, new Map(app.pools.flatMap((p) => p.targets.map((t) => [t.id, t.release ?? '']))));
  for (const app of metrics) {
    for (const [pool, pm] of Object.entries(app.pools)) {
      for (const [cls, label] of Object.entries(CLASS_LABEL)) preq.push(`deployer_router_pool_requests_total${labels({ app: app.app, pool, class: label })} ${pm.requests[cls as keyof StatusCounts]}`);
      histogram(dur, 'deployer_router_request_duration_seconds', { app: app.app, pool }, pm.latency);
      for (const [target, tm] of Object.entries(pm.targets)) {
        const release = releases.get(app.app)?.get(target) ?? '';
        for (const [cls, label] of Object.entries(CLASS_LABEL)) {
          req.push(`deployer_router_requests_total${labels({ app: app.app, pool, target, release, class: label })} ${tm.requests[cls as keyof StatusCounts]}`);
        }
        histogram(tdur, 'deployer_router_target_request_duration_seconds', { app: app.app, pool, target, release }, tm.latency);
      }
    }
  }
  const weight: string[] = ['# HELP deployer_router_pool_weight Relative share of new traffic of each pool.', '# TYPE deployer_router_pool_weight gauge'];
  const up: string[] = ['# HELP deployer_router_target_up 1 when the target is in rotation (healthy), else 0.', '# TYPE deployer_router_target_up gauge'];
  const inFlight: string[] = ['# HELP deployer_router_in_flight Requests (and open upgraded connections) in flight to the target.', '# TYPE deployer_router_in_flight gauge'];
  for (const app of views) {
    for (const pool of app.pools) {
      weight.push(`deployer_router_pool_weight${labels({ app: app.name, pool: pool.name })} ${pool.weight}`);
      for (const t of pool.targets) {
        const l = labels({ app: app.name, pool: pool.name, target: t.id });
        up.push(`deployer_router_target_up${l} ${t.state === 'healthy' ? 1 : 0}`);
        inFlight.push(`deployer_router_in_flight${l} ${t.inFlight}`);
      }
    }
  }
  return `${[...req, ...preq, ...dur, ...tdur, ...weight, ...up, ...inFlight, ...connections(listeners)].join('\n')}\n`;
}
