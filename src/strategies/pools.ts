// The pools a planner names and the ports of their instances: pure, shared by the planners and
// the instance managers (which start what the plan names).
import type { LoadedManifest } from '../manifest/load.js';
import type { InstanceRef } from '../services/instance-manager.js';

/** Port offset of each pool from service.base_port: blue and green never share a port. */
export const POOL_OFFSET: Record<string, number> = { stable: 0, blue: 0, green: 100, canary: 200 };
export const DEFAULT_BASE_PORT = 3000;

/** Whether this manifest's service manager runs instances in pools side by side (today: `manager: process`). */
export function runsPools(loaded: LoadedManifest): boolean {
  return loaded.manifest.service.manager === 'process';
}

export function basePort(loaded: LoadedManifest): number {
  return loaded.manifest.service.base_port ?? DEFAULT_BASE_PORT;
}

/** The instances of a pool: `<pool>-<i>` on base_port + the pool's offset + i. */
export function poolInstances(loaded: LoadedManifest, pool: string, count = loaded.manifest.service.instances): InstanceRef[] {
  const first = basePort(loaded) + (POOL_OFFSET[pool] ?? 0);
  return Array.from({ length: count }, (_, i) => ({ id: `${pool}-${i}`, port: first + i }));
}

/** How long a new instance may take to become healthy: the longest health check timeout (30 s without checks). */
export function startTimeout(loaded: LoadedManifest): number {
  return loaded.checks.length ? Math.max(...loaded.checks.map((c) => c.policy.timeoutMs)) : 30_000;
}
