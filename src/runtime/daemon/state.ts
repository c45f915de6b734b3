import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { localFs } from '../../hosts/local-fs.js';
import type { InstanceSpec, ProcessRecord, RouteRule, RouterApp } from '../model.js';

/** An app as the daemon keeps it: router settings, pool weights, routes, instances, pending stops. */
export interface AppRecord {
  config: Omit<RouterApp, 'pools' | 'routes'>;
  /** pool -> weight; a pool without an entry has weight 0 */
  weights: Record<string, number>;
  /** held: started and checked by the router, but no traffic until the deploy releases it */
  instances: Record<string, { spec: InstanceSpec; process: ProcessRecord | null; held?: boolean }>;
  /** pool -> epoch ms at which its instances stop (blue-green's scale_down_delay) */
  stopAt: Record<string, number>;
  /** header/cookie routes (absent in a state written before they existed: none); kept when the config is replaced */
  routes?: RouteRule[];
}

/** The desired state: written atomically after every change, read back when the daemon starts. */
export interface DaemonState {
  version: 1;
  apps: Record<string, AppRecord>;
  router: ProcessRecord | null;
  metricsListen: string | null;
}

export const emptyState = (): DaemonState => ({ version: 1, apps: {}, router: null, metricsListen: null });

export async function readState(path: string): Promise<DaemonState> {
  const text = await localFs.readText(path);
  if (text === null) return emptyState();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${path} is not valid JSON; move it aside to start the runtime with no apps`);
  }
  const s = parsed as Partial<DaemonState>;
  if (s.version !== 1 || typeof s.apps !== 'object' || s.apps === null) throw new Error(`${path}: unknown state format`);
  return { ...emptyState(), ...s } as DaemonState;
}

/** Atomic, and readable by the owner only: instance environments hold the manifest's secrets. */
export async function writeState(path: string, s: DaemonState): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await localFs.writeAtomic(path, `${JSON.stringify(s, null, 2)}\n`);
  await chmod(path, 0o600);
}

/** The router's view of an app: its pools built from the instances, each with its weight. */
export function routerAppOf(rec: AppRecord): RouterApp {
  const pools = new Map<string, RouterApp['pools'][number]>();
  for (const name of Object.keys(rec.weights)) pools.set(name, { name, weight: rec.weights[name] ?? 0, targets: [] });
  for (const { spec, held } of Object.values(rec.instances)) {
    // a held instance waits in a pool of its own with no weight; the router keeps its health state when it moves
    const name = held ? `${spec.pool}-held` : spec.pool;
    let p = pools.get(name);
    if (!p) pools.set(name, (p = { name, weight: held ? 0 : (rec.weights[spec.pool] ?? 0), targets: [] }));
    p.targets.push({ id: spec.id, host: '127.0.0.1', port: spec.port, release: spec.release, ...(spec.healthPath !== undefined ? { healthPath: spec.healthPath } : {}) });
  }
  for (const p of pools.values()) p.targets.sort((a, b) => a.port - b.port);
  return { ...rec.config, pools: [...pools.values()], routes: rec.routes ?? [] };
}
