import type { LoadedManifest } from '../manifest/load.js';
import type { Plan } from '../plan/steps.js';
import { poolInstances, runsPools } from './pools.js';
import { deployPlan, healthCheck, poolHealthCheck } from './common.js';
import type { Observed } from './observe.js';

export interface PlanIds {
  deployId: string;
  release: string;
}

/**
 * Recreate ("big bang", seed 000): prepare the release, run the build hooks, switch `current`
 * and restart, check; on a failed check go back to the previous release.
 */
export function planRecreate(loaded: LoadedManifest, observed: Observed, ids: PlanIds): Plan {
  // on the runtime, recreate restarts every instance in pool `stable`; each one is checked
  const check = (r: string) => (runsPools(loaded) ? poolHealthCheck(loaded, r, 'stable', poolInstances(loaded, 'stable').map((i) => i.port)) : healthCheck(loaded, r));
  const { release } = ids;
  return deployPlan(loaded, observed, ids, {
    strategy: 'recreate',
    activation: (pointers, pointersBefore) => [
      { step: { kind: 'activate', release, previous: observed.current, manager: loaded.manifest.service.manager, pointers, pointersBefore }, onError: 'abort', live: true },
      ...check(release),
    ],
    verify: check,
  });
}
