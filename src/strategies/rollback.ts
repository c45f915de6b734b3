import { UsageError } from '../errors.js';
import type { LoadedManifest } from '../manifest/load.js';
import { compareReleaseIds } from '../release/id.js';
import type { Plan, PlannedStep, Pointers } from '../plan/steps.js';
import { poolInstances, runsPools } from './pools.js';
import { idleSlot, scaleDown, slotSteps } from './blue-green.js';
import { healthCheck, hook, poolHealthCheck } from './common.js';
import { livePool, type Observed } from './observe.js';
import { rollingSteps, rollingTolerance } from './rolling.js';

export interface RollbackRequest {
  deployId: string;
  /** --to RELEASE; default the rollback point */
  to?: string;
  /** --forward: back to the release that was live before the last rollback */
  forward?: boolean;
}

/** The newest complete release older than `id`, other than `except`. */
function releaseBefore(observed: Observed, id: string, except?: string | null): string | null {
  const older = observed.releases.filter((r) => !r.failed && r.complete && compareReleaseIds(r.id, id) < 0 && r.id !== except);
  return older.at(-1)?.id ?? null;
}

/** Picks the release to go back to, or says clearly why there is none. */
export function rollbackTarget(observed: Observed, to?: string): string {
  const { current } = observed;
  if (to !== undefined) {
    const r = observed.releases.find((x) => x.id === to && !x.failed);
    if (!r) throw new UsageError(`release ${to} does not exist`, { hint: 'see `deployer releases`' });
    if (!r.complete) throw new UsageError(`release ${to} is incomplete (no .release_meta): it never finished preparing`);
    if (to === current) throw new UsageError(`release ${to} is already live`);
    return to;
  }
  const point = observed.rollbackPoint;
  if (point && point !== current && observed.releases.some((r) => r.id === point && r.complete && !r.failed)) return point;
  const before = current ? releaseBefore(observed, current) : null;
  if (before) return before;
  throw new UsageError(current ? `no release to roll back to: ${current} is the oldest release` : 'nothing is deployed yet: no release to roll back to');
}

/**
 * Rollback (seed 000 §7.1): pre_rollback, switch `current` back and restart, check; then
 * post_rollback and on_rollback. A failed check is not undone: it needs a human (exit 4).
 */
export function planRollback(loaded: LoadedManifest, observed: Observed, req: RollbackRequest): Plan {
  if (req.forward && !observed.preRollback) throw new UsageError('nothing to roll forward to: no rollback since the last deploy');
  const target = rollbackTarget(observed, req.forward ? observed.preRollback! : req.to);
  const from = observed.current;
  // a second rollback goes further back; `rollback --forward` returns to `from`
  const pointers: Pointers = { rollback_point: releaseBefore(observed, target, from), pre_rollback_release: from };
  const pointersBefore: Pointers = { rollback_point: observed.rollbackPoint, pre_rollback_release: observed.preRollback };
  const activation = runtimeActivation(loaded, observed, target, pointers, pointersBefore) ?? [
    {
      step: { kind: 'activate', release: target, previous: from, manager: loaded.manifest.service.manager, pointers, pointersBefore },
      onError: 'abort',
      live: true,
    },
    ...(runsPools(loaded) ? poolHealthCheck(loaded, target, 'stable', poolInstances(loaded, 'stable').map((i) => i.port)) : healthCheck(loaded, target)),
  ];
  // a rolling rollback tolerates failed instances as a rolling deploy does
  const tolerate = activation.some((p) => p.group !== undefined) ? rollingTolerance(loaded, observed, target) : undefined;
  return {
    ...(tolerate ? { tolerate } : {}),
    operation: 'rollback',
    deployId: req.deployId,
    app: loaded.manifest.name,
    strategy: 'rollback',
    release: target,
    previous: from,
    steps: [hook('pre_rollback', target, 'warn'), ...activation, hook('post_rollback', target, 'warn'), hook('on_rollback', target, 'warn', [from ?? '', target])],
    rollback: { before: [], verify: [], after: [] },
    onFailure: [hook('on_failure', target, 'warn')],
    undoLive: false,
    failureIsManual: true,
  };
}

/**
 * On the embedded runtime: a slot still warm with the target only takes the traffic back (instant);
 * otherwise blue-green starts the target in the idle slot and rolling rolls the instances back.
 * Null: the plain switch-and-restart applies.
 */
function runtimeActivation(loaded: LoadedManifest, observed: Observed, target: string, pointers: Pointers, pointersBefore: Pointers): PlannedStep[] | null {
  const live = livePool(observed);
  if (!runsPools(loaded) || !live) return null;
  const from = observed.current;
  const warm = observed.pools!.find(
    (p) => p.name !== live.name && p.weight === 0 && p.instances.length > 0 && p.instances.every((i) => i.release === target && i.state === 'running'),
  );
  const strategy = loaded.manifest.deployment.strategy;
  if (warm || strategy === 'blue-green' || strategy === 'canary') {
    const slot = warm?.name ?? idleSlot(live.name);
    const ports = (warm?.instances ?? poolInstances(loaded, slot)).map((i) => i.port);
    return [
      ...(warm ? [] : slotSteps(loaded, observed, target, slot)),
      { step: { kind: 'switch_traffic', release: target, previous: from, to: slot, from: live.name, pointers, pointersBefore }, onError: 'abort', live: true },
      ...poolHealthCheck(loaded, target, slot, ports),
      ...scaleDown(loaded, live),
    ];
  }
  if (strategy === 'rolling') {
    return [...rollingSteps(loaded, observed, target), { step: { kind: 'set_current', release: target, previous: from, pointers, pointersBefore }, onError: 'abort', live: true }];
  }
  return null;
}
