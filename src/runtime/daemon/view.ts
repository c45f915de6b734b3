import type { InstanceStatus, RouteRule, RouterApp, RouterAppView } from '../model.js';
import type { AppRecord } from './state.js';

export interface InstanceView extends InstanceStatus {
  /** started but kept out of traffic until the deploy has checked it */
  held: boolean;
  /** what the router thinks of it */
  traffic: string;
  inFlight: number;
  lastError: string | null;
}

export interface AppView {
  name: string;
  listen: RouterApp['listen'];
  hostnames: string[];
  weights: Record<string, number>;
  /** header/cookie routes, first match wins */
  routes: RouteRule[];
  stopAt: Record<string, string>;
  instances: InstanceView[];
}

/** An app as `status` shows it: the supervisor's view of each instance joined with the router's. */
export function appView(name: string, rec: AppRecord, statuses: InstanceStatus[], rv: RouterAppView | undefined): AppView {
  const targets = new Map((rv?.pools ?? []).flatMap((p) => p.targets).map((t) => [t.id, t]));
  const instances = statuses
    .filter((s) => rec.instances[s.id])
    .map((s) => {
      const t = targets.get(s.id);
      return { ...s, held: rec.instances[s.id]?.held === true, traffic: t?.state ?? 'not routed', inFlight: t?.inFlight ?? 0, lastError: t?.lastError ?? null };
    })
    .sort((a, b) => a.port - b.port);
  return {
    name,
    listen: rec.config.listen,
    hostnames: rec.config.hostnames,
    weights: { ...rec.weights },
    routes: rec.routes ?? [],
    stopAt: Object.fromEntries(Object.entries(rec.stopAt).map(([p, at]) => [p, new Date(at).toISOString()])),
    instances,
  };
}
