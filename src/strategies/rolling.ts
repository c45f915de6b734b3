import type { LoadedManifest } from '../manifest/load.js';
import type { Plan, PlannedStep, Pointers, RollingInstance } from '../plan/steps.js';
import { poolInstances } from './pools.js';
import { deployPlan, poolHealthCheck } from './common.js';
import { livePool, type Observed } from './observe.js';
import type { PlanIds } from './recreate.js';

/** A count or a percentage of `total`, rounded up, at least `min`. */
export function resolveCount(v: number | string, total: number, min = 1): number {
  const n = typeof v === 'number' ? v : Math.ceil((parseFloat(v) / 100) * total);
  return Math.max(min, Math.min(total, n));
}

/**
 * The batches that move the live pool's instances to `release` in place: never more than
 * max_unavailable out of service at once.
 */
export function rollingSteps(loaded: LoadedManifest, observed: Observed, release: string): PlannedStep[] {
  const live = livePool(observed)!;
  const r = loaded.manifest.deployment.rolling;
  // instances already on the release (a rollback after a deploy that kept some back) stay as they are
  const moving = live.instances.filter((i) => i.release !== release || i.state !== 'running');
  const total = moving.length;
  if (total === 0) return [];
  const size = Math.min(resolveCount(r?.batch_size ?? 1, total), resolveCount(r?.max_unavailable ?? 1, total));
  const maxFailures = resolveCount(r?.max_failures ?? 1, total);
  const delay = r?.batch_delay ?? 10_000;
  const instances: RollingInstance[] = [...moving].sort((a, b) => a.port - b.port).map((i) => ({ id: i.id, port: i.port, pool: live.name, from: i.release }));
  const batches = Math.ceil(total / size);
  const steps: PlannedStep[] = [];
  for (let b = 0; b < batches; b++) {
    steps.push({
      step: { kind: 'roll_batch', batch: b + 1, batches, release, instances: instances.slice(b * size, (b + 1) * size), maxFailures, delayAfterMs: b + 1 < batches ? delay : 0 },
      onError: 'abort',
      live: true,
    });
  }
  return steps;
}

/** With nothing running yet, a rolling deploy starts every instance and sends traffic to them. */
export function firstStartSteps(loaded: LoadedManifest, release: string, previous: string | null, pointers: Pointers, pointersBefore: Pointers): PlannedStep[] {
  const instances = poolInstances(loaded, 'stable');
  return [
    { step: { kind: 'start_instances', pool: 'stable', release, instances }, onError: 'abort' },
    ...poolHealthCheck(loaded, release, 'stable', instances.map((i) => i.port)),
    { step: { kind: 'switch_traffic', release, previous, to: 'stable', from: null, pointers, pointersBefore }, onError: 'abort', live: true },
  ];
}

/** Rolling (DESIGN §5, seed 001): instances move to the new release a batch at a time. */
export function planRolling(loaded: LoadedManifest, observed: Observed, ids: PlanIds): Plan {
  const { release } = ids;
  const previous = observed.current;
  return deployPlan(loaded, observed, ids, {
    strategy: 'rolling',
    activation: (pointers, pointersBefore) =>
      livePool(observed)
        ? [...rollingSteps(loaded, observed, release), { step: { kind: 'set_current', release, previous, pointers, pointersBefore }, onError: 'abort', live: true }]
        : firstStartSteps(loaded, release, previous, pointers, pointersBefore),
    // each batch's undo puts its instances back and checks them, so there is nothing more to verify
    verify: () => [],
  });
}
