import { describe, expect, it } from 'vitest';
import { NotSupportedError } from '../errors.js';
import { parseManifest } from '../manifest/load.js';
import type { RouterCapabilities } from '../routers/types.js';
import { missingCapabilities, neededCapabilities, refuseIncapableRouter } from './capabilities.js';

const ALL: RouterCapabilities = { weights: true, routes: true, drain: true, counts: true, latency: true };
const NONE: RouterCapabilities = { weights: false, routes: false, drain: false, counts: false, latency: false };

const load = (deployment: string, analysis = '') =>
  parseManifest(
    `name: app
source: { type: local, path: ./app }
service: { manager: process, command: node server.js, instances: 2 }
router: { type: embedded, listen: 9000 }
deployment:
${deployment}
${analysis}`,
    { env: {} },
  ).manifest;

const canary = load('  strategy: canary\n  canary: { stages: [{ weight: 10, duration: 1m }], header_route: { header: X-Canary } }', 'analysis:\n  metrics:\n    - { name: error_rate, max: 1 }\n    - { name: latency_p99_ms, max: 500 }\n');

/** A router with some capabilities, as a planner sees it. */
const router = (kind: string, caps: Partial<RouterCapabilities>) => ({ kind, capabilities: { ...NONE, ...caps } });

describe('router capabilities a strategy needs', () => {
  it('recreate and blue-green need nothing beyond a switch; rolling needs drain', () => {
    expect(neededCapabilities(load('  strategy: recreate'), 'recreate')).toEqual([]);
    expect(neededCapabilities(load('  strategy: blue-green'), 'blue-green')).toEqual([]);
    expect(neededCapabilities(load('  strategy: rolling'), 'rolling').map((n) => n.capability)).toEqual(['drain']);
    expect(neededCapabilities(canary, 'rollback')).toEqual([]);
    // a rolling app's rollback drains its instances back one at a time
    expect(neededCapabilities(load('  strategy: rolling'), 'rollback').map((n) => n.capability)).toEqual(['drain']);
  });

  it('a canary needs weights, routes for its header route, counts and latency for router metrics', () => {
    expect(neededCapabilities(canary, 'canary').map((n) => [n.capability, n.key])).toEqual([
      ['weights', 'deployment.canary'],
      ['routes', 'deployment.canary.header_route'],
      ['counts', 'analysis.metrics[0]'],
      ['latency', 'analysis.metrics[1]'],
    ]);
    expect(neededCapabilities(load('  strategy: canary'), 'canary').map((n) => n.capability)).toEqual(['weights']);
  });

  it('a router that can do everything passes; one that cannot is refused (exit 2) naming router.type and each key', () => {
    expect(missingCapabilities(ALL, canary, 'canary')).toEqual([]);
    expect(() => refuseIncapableRouter(router('embedded', ALL), canary, 'canary')).not.toThrow();
    let err: unknown;
    try {
      refuseIncapableRouter(router('haproxy', { weights: true, drain: true, counts: true }), canary, 'canary');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotSupportedError);
    expect((err as NotSupportedError).exitCode).toBe(2);
    expect((err as Error).message).toBe(
      'router.type: haproxy cannot route by header or cookie (deployment.canary.header_route); cannot measure latency per pool (provider: router) (analysis.metrics[1])',
    );
    expect(() => refuseIncapableRouter(router('none', {}), load('  strategy: rolling'), 'rolling')).toThrow('router.type: none cannot drain one instance at a time (rolling) (deployment.strategy)');
  });
});
