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
 * max_unavailable out of service at once. Each instance is a group of single-action steps (drain,
 * stop, start on the release out of traffic, check, back in rotation); a batch's instances run at
 * once; batch_delay is a wait step between batches.
 */
export function rollingSteps(loaded: LoadedManifest, observed: Observed, release: string): PlannedStep[] {
  const live = livePool(observed)!;
  const r = loaded.manifest.deployment.rolling;
  // instances already on the release (a rollback after a deploy that kept some back) stay as they are
  const moving = live.instances.filter((i) => i.release !== release || i.state !== 'running');
  const total = moving.length;
  if (total === 0) return [];
  const size = Math.min(resolveCount(r?.batch_size ?? 1, total), resolveCount(r?.max_unavailable ?? 1, total));
  const delay = r?.batch_delay ?? 10_000;
  const drainMs = r?.drain_timeout ?? 30_000;
  const instances: RollingInstance[] = [...moving].sort((a, b) => a.port - b.port).map((i) => ({ id: i.id, port: i.port, pool: live.name, from: i.release }));
  const batches = Math.ceil(total / size);
  const steps: PlannedStep[] = [];
  for (let b = 0; b < batches; b++) {
    if (b > 0 && delay > 0) steps.push({ step: { kind: 'wait', ms: delay, reason: `batch_delay before batch ${b + 1}/${batches}` }, onError: 'abort' });
    for (const i of instances.slice(b * size, (b + 1) * size)) {
      const at = { batch: b + 1, group: i.id };
      const ref = { id: i.id, port: i.port, pool: i.pool };
      steps.push(
        { step: { kind: 'drain_target', id: i.id, pool: i.pool, timeoutMs: drainMs }, onError: 'abort', live: true, ...at },
        { step: { kind: 'stop_instance', ...ref, release: i.from }, onError: 'abort', live: true, ...at },
        { step: { kind: 'start_instance', ...ref, release }, onError: 'abort', live: true, ...at },
        ...poolHealthCheck(loaded, release, i.pool, [i.port]).map((p) => ({ ...p, ...at })),
        { step: { kind: 'enable_target', id: i.id, pool: i.pool, timeoutMs: drainMs }, onError: 'abort', live: true, ...at },
      );
    }
  }
  return steps;
}

/** Failed instances (over the whole deploy) that stop a rolling deploy: max_failures of the instances it moves. */
export function rollingTolerance(loaded: LoadedManifest, observed: Observed, release: string): Plan['tolerate'] {
  const live = livePool(observed);
  if (!live) return undefined;
  const total = live.instances.filter((i) => i.release !== release || i.state !== 'running').length;
  return total ? { maxFailures: resolveCount(loaded.manifest.deployment.rolling?.max_failures ?? 1, total) } : undefined;
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
  const plan = deployPlan(loaded, observed, ids, {
    strategy: 'rolling',
    activation: (pointers, pointersBefore) =>
      livePool(observed)
        ? [...rollingSteps(loaded, observed, release), { step: { kind: 'set_current', release, previous, pointers, pointersBefore }, onError: 'abort', live: true }]
        : firstStartSteps(loaded, release, previous, pointers, pointersBefore),
    // each instance's undo puts it back and waits until it is healthy, so there is nothing more to verify
    verify: () => [],
  });
  const tolerate = rollingTolerance(loaded, observed, release);
  return tolerate ? { ...plan, tolerate } : plan;
}
