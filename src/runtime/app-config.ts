import { join } from 'node:path';
import type { LoadedManifest } from '../manifest/load.js';
import type { AppLayout } from '../release/layout.js';
import type { InstanceRef } from '../services/instance-manager.js';
import type { AppConfig } from './daemon/daemon.js';
import type { InstanceSpec, RouterHealth } from './model.js';

export function parseListen(v: number | string | undefined, fallbackPort: number): { host: string; port: number } {
  if (v === undefined) return { host: '127.0.0.1', port: fallbackPort };
  if (typeof v === 'number') return { host: '127.0.0.1', port: v };
  const i = v.lastIndexOf(':');
  return { host: v.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(v.slice(i + 1)) };
}

/** The path the router checks: router.health_path, else the first http health check on {port}. */
export function routerHealth(loaded: LoadedManifest): RouterHealth {
  const r = loaded.manifest.router;
  let path: string | null = r.health_path ?? null;
  if (path === null) {
    for (const c of loaded.checks) {
      if (c.spec.type !== 'http' || !c.spec.url.includes('{port}')) continue;
      const m = c.spec.url.match(/^https?:\/\/[^/]+(\/[^#]*)?/);
      path = m?.[1] || '/';
      break;
    }
  }
  return { path, intervalMs: r.health_interval, timeoutMs: Math.min(5_000, Math.max(500, r.health_interval * 2)), unhealthyThreshold: 2, healthyThreshold: 1 };
}

/**
 * The app as the runtime's router serves it. With another router (nginx, HAProxy) or none, the
 * runtime only health-checks the instances: it listens on no port for the app.
 */
export function appConfig(loaded: LoadedManifest): AppConfig {
  const m = loaded.manifest;
  return {
    listen: m.router.type === 'embedded' ? parseListen(m.router.listen, 8080) : null,
    hostnames: m.router.hostnames,
    health: routerHealth(loaded),
    stickyCookie: m.router.sticky ? `deployer_${m.name.replace(/[^A-Za-z0-9_-]/g, '_')}` : null,
    drainTimeoutMs: m.deployment.rolling?.drain_timeout ?? 30_000,
    unavailableWaitMs: m.router.unavailable_wait,
    ...(m.router.trusted_proxies.length > 0 ? { trustedProxies: m.router.trusted_proxies } : {}),
    limits: {
      sendTimeoutMs: m.router.send_timeout,
      bodyTimeoutMs: m.router.body_timeout,
      tunnelIdleTimeoutMs: m.router.tunnel_idle_timeout,
      maxConnections: m.router.max_connections,
      maxConnectionsPerClient: m.router.max_connections_per_client,
      maxHeadMemory: m.router.max_head_memory,
    },
  };
}

/** What the supervisor runs for each instance of a release. */
export function instanceSpecs(loaded: LoadedManifest, layout: AppLayout, pool: string, release: string, refs: InstanceRef[]): InstanceSpec[] {
  const m = loaded.manifest;
  return refs.map((r) => ({
    app: m.name,
    id: r.id,
    pool,
    port: r.port,
    release,
    dir: layout.release(release),
    command: m.service.command!,
    env: {
      ...m.environment,
      DEPLOY_APP: m.name,
      DEPLOY_RELEASE_ID: release,
      DEPLOY_RELEASE_DIR: layout.release(release),
      DEPLOY_APP_ROOT: layout.root,
      DEPLOY_POOL: pool,
      DEPLOY_INSTANCE: r.id,
    },
    stopTimeoutMs: m.service.stop_timeout,
    logFile: join(layout.shared, 'logs', `${r.id}.log`),
    healthPath: routerHealth(loaded).path,
  }));
}
