import type { Plan } from '../plan/steps.js';

/**
 * Where a host of a fleet waits for the others before changing what serves traffic: the first
 * step that does (stopping the old release for recreate, the switch for blue-green, the first
 * batch for rolling, the first canary stage). -1 when the plan changes nothing live.
 */
export function switchIndex(plan: Plan): number {
  return plan.steps.findIndex((p) => p.live === true);
}
