import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest/load.js';
import { AppLayout } from '../release/layout.js';
import { appConfig, instanceSpecs, parseListen, routerHealth } from './app-config.js';

const load = (extra = '', checks = '  - { url: "http://127.0.0.1:{port}/healthz?deep=1", timeout: 12s }\n') =>
  parseManifest(
    `name: my.app
source: { type: local, path: ./app }
service: { manager: process, command: node server.js, instances: 2, base_port: 5000, stop_timeout: 3s }
router: { type: embedded, listen: 9000${extra} }
environment: { SECRET: s3cr3t }
health_checks:
${checks}`,
    { env: {} },
  );

describe('runtime app config from the manifest', () => {
  it('listens on no port for the app when another router (or none) serves it: the runtime only checks the instances', () => {
    expect(appConfig(load()).listen).toEqual({ host: '127.0.0.1', port: 9000 });
    const none = parseManifest(
      `name: my.app
source: { type: local, path: ./app }
service: { manager: process, command: node server.js, instances: 2, base_port: 5000 }
router: { type: none }
`,
      { env: {} },
    );
    expect(appConfig(none).listen).toBeNull();
  });

  it('reads listen as a port (loopback) or host:port', () => {
    expect(parseListen(8080, 1)).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('0.0.0.0:80', 1)).toEqual({ host: '0.0.0.0', port: 80 });
    expect(parseListen('[::1]:8443', 1)).toEqual({ host: '::1', port: 8443 });
    expect(parseListen(undefined, 7)).toEqual({ host: '127.0.0.1', port: 7 });
  });

  it('checks instances on the path of the first {port} http check, or health_path, or by TCP', () => {
    expect(routerHealth(load()).path).toBe('/healthz?deep=1');
    expect(routerHealth(load(', health_path: /ready')).path).toBe('/ready');
    expect(routerHealth(load('', '  - { type: tcp, target: "127.0.0.1:{port}" }\n')).path).toBeNull();
    expect(routerHealth(load(', health_interval: 250ms'))).toMatchObject({ intervalMs: 250, timeoutMs: 500 });
  });

  it('names the sticky cookie after the app, and none when sticky is off', () => {
    expect(appConfig(load()).stickyCookie).toBe('deployer_my_app');
    expect(appConfig(load(', sticky: false')).stickyCookie).toBeNull();
    expect(appConfig(load(', unavailable_wait: 3s'))).toMatchObject({ listen: { host: '127.0.0.1', port: 9000 }, unavailableWaitMs: 3000, drainTimeoutMs: 30_000 });
  });

  it('passes router.trusted_proxies on to the router, and nothing when there are none', () => {
    expect(appConfig(load(', trusted_proxies: [10.0.0.0/8, "fd00::/8", 192.0.2.1]')).trustedProxies).toEqual(['10.0.0.0/8', 'fd00::/8', '192.0.2.1']);
    expect(appConfig(load())).not.toHaveProperty('trustedProxies');
  });

  it("carries the router's limits, defaults and the manifest's values", () => {
    expect(appConfig(load()).limits).toEqual({ sendTimeoutMs: 60_000, bodyTimeoutMs: 60_000, tunnelIdleTimeoutMs: 600_000, maxConnections: 10_000, maxConnectionsPerClient: 500, maxHeadMemory: 32 * 1024 * 1024 });
    const l = load(', send_timeout: 5s, body_timeout: 10s, tunnel_idle_timeout: 1h, max_connections: 100, max_connections_per_client: 10, max_head_memory: 1MiB');
    expect(appConfig(l).limits).toEqual({ sendTimeoutMs: 5_000, bodyTimeoutMs: 10_000, tunnelIdleTimeoutMs: 3_600_000, maxConnections: 100, maxConnectionsPerClient: 10, maxHeadMemory: 1024 * 1024 });
  });

  it('runs each instance in its release with the environment and DEPLOY_* set, logging to shared/logs', () => {
    const [s] = instanceSpecs(load(), new AppLayout('/srv/my.app'), 'green', '20240101_000000', [{ id: 'green-0', port: 5100 }]);
    expect(s).toEqual({
      app: 'my.app',
      id: 'green-0',
      pool: 'green',
      port: 5100,
      release: '20240101_000000',
      dir: '/srv/my.app/releases/20240101_000000',
      command: 'node server.js',
      env: {
        SECRET: 's3cr3t',
        DEPLOY_APP: 'my.app',
        DEPLOY_RELEASE_ID: '20240101_000000',
        DEPLOY_RELEASE_DIR: '/srv/my.app/releases/20240101_000000',
        DEPLOY_APP_ROOT: '/srv/my.app',
        DEPLOY_POOL: 'green',
        DEPLOY_INSTANCE: 'green-0',
      },
      stopTimeoutMs: 3000,
      logFile: '/srv/my.app/shared/logs/green-0.log',
      healthPath: '/healthz?deep=1',
    });
  });
});
