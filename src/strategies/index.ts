import type { LoadedManifest } from '../manifest/load.js';
import type { Manifest } from '../manifest/schema/index.js';
import type { Plan } from '../plan/steps.js';
import { planBlueGreen } from './blue-green.js';
import { planCanary } from './canary.js';
import type { Observed } from './observe.js';
import { planRecreate, type PlanIds } from './recreate.js';
import { planRolling } from './rolling.js';

/** The deploy plan of a strategy. */
export function planDeploy(strategy: Manifest['deployment']['strategy'], loaded: LoadedManifest, observed: Observed, ids: PlanIds): Plan {
  switch (strategy) {
    case 'recreate':
      return planRecreate(loaded, observed, ids);
    case 'blue-green':
      return planBlueGreen(loaded, observed, ids);
    case 'rolling':
      return planRolling(loaded, observed, ids);
    case 'canary':
      return planCanary(loaded, observed, ids);
  }
}
