import { fillTemplate } from '../manifest/checks.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { Plan, PlannedStep } from '../plan/steps.js';
import { poolInstances } from './pools.js';
import { deployPlan, poolHealthCheck } from './common.js';
import { livePool, type Observed } from './observe.js';
import type { PlanIds } from './recreate.js';

/** The slot that does not serve now. A pool named otherwise (stable, from recreate) uses blue's ports. */
export function idleSlot(live: string | null): 'blue' | 'green' {
  return live === null ? 'blue' : live === 'green' ? 'blue' : 'green';
}

/**
 * Start `release` in the idle slot, check it, smoke-test and warm it up, then move all traffic
 * to it in one step. Shared by deploy and by a rollback to a release that is no longer warm.
 */
export function slotSteps(loaded: LoadedManifest, observed: Observed, release: string, slot: string): PlannedStep[] {
  const bg = loaded.manifest.deployment.blue_green;
  const instances = poolInstances(loaded, slot);
  const ports = instances.map((i) => i.port);
  const steps = stopLeftovers(observed);
  steps.push({ step: { kind: 'start_instances', pool: slot, release, instances }, onError: 'abort' });
  steps.push(...poolHealthCheck(loaded, release, slot, ports));
  if (loaded.smokeTests.length > 0) {
    const vars = { port: ports.length === 1 ? ports[0] : '{port}', host: '127.0.0.1', release, pool: slot };
    steps.push({ step: { kind: 'smoke_test', release, pool: slot, ports, checks: loaded.smokeTests.map((c) => fillTemplate(c.label, vars)) }, onError: 'abort' });
  }
  if (bg && bg.warmup_requests > 0) {
    steps.push({ step: { kind: 'warmup', pool: slot, ports, requests: bg.warmup_requests, path: loaded.manifest.router.health_path ?? '/' }, onError: 'abort' });
  }
  return steps;
}

/**
 * Stops whatever runs besides the live pool, before a new slot starts: the slot's previous release
 * kept warm, or a pool left by another strategy (recreate's `stable` holds blue's ports).
 */
export function stopLeftovers(observed: Observed): PlannedStep[] {
  const live = livePool(observed);
  const leftovers = (observed.pools ?? []).filter((p) => p.name !== live?.name && p.instances.length > 0);
  return leftovers.map((p) => ({
    step: { kind: 'stop_instances', pool: p.name, release: [...new Set(p.instances.map((i) => i.release))].join(', ') || null, instances: p.instances.map((i) => i.id), delayMs: 0 },
    onError: 'abort',
  }));
}

/** Stopping the slot that served, after scale_down_delay: until then a rollback only moves traffic. */
export function scaleDown(loaded: LoadedManifest, pool: { name: string; instances: { id: string; release: string }[] } | null): PlannedStep[] {
  if (!pool) return [];
  const d = loaded.manifest.deployment;
  const delayMs = (d.strategy === 'canary' ? d.canary?.scale_down_delay : d.blue_green?.scale_down_delay) ?? 30_000;
  const release = [...new Set(pool.instances.map((i) => i.release))].join(', ') || null;
  return [{ step: { kind: 'stop_instances', pool: pool.name, release, instances: pool.instances.map((i) => i.id), delayMs }, onError: 'warn' }];
}

/** Blue-green (DESIGN §5, seed 001): the new release takes all traffic at once, once proven. */
export function planBlueGreen(loaded: LoadedManifest, observed: Observed, ids: PlanIds): Plan {
  const { release } = ids;
  const live = livePool(observed);
  const slot = idleSlot(live?.name ?? null);
  const ports = poolInstances(loaded, slot).map((i) => i.port);
  return deployPlan(loaded, observed, ids, {
    strategy: 'blue-green',
    activation: (pointers, pointersBefore) => [
      ...slotSteps(loaded, observed, release, slot),
      { step: { kind: 'switch_traffic', release, previous: observed.current, to: slot, from: live?.name ?? null, pointers, pointersBefore }, onError: 'abort', live: true },
      ...poolHealthCheck(loaded, release, slot, ports),
    ],
    afterPost: scaleDown(loaded, live),
    verify: (previous) => (live ? poolHealthCheck(loaded, previous, live.name, live.instances.map((i) => i.port)) : []),
  });
}
