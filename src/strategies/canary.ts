import { UsageError } from '../errors.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { Plan, PlannedStep, Step } from '../plan/steps.js';
import { poolInstances } from './pools.js';
import type { RouteRule } from '../routers/types.js';
import { idleSlot, planBlueGreen, scaleDown, stopLeftovers } from './blue-green.js';
import { deployPlan, poolHealthCheck } from './common.js';
import { livePool, type Observed } from './observe.js';
import type { PlanIds } from './recreate.js';

export interface StagePlan {
  weight: number;
  durationMs: number;
  pause: 'manual' | 'timed' | null;
  reason?: string;
}

/** The seed's defaults (000 §deploy_canary): 5%, +10% every 60 s, up to 100%. */
const SEED = { initial: 5, step: 10, intervalMs: 60_000, final: 100 };

/**
 * The stages of the manifest, as weights and pauses: the stage list as written, or the seed
 * form walked from initial_percent by step_percent while below final_percent. A pause holds the
 * weight of the stage before it. auto_promote: false adds a manual pause before promotion.
 */
export function canaryStages(loaded: LoadedManifest): StagePlan[] {
  const c = loaded.manifest.deployment.canary;
  const out: StagePlan[] = [];
  let weight = 0;
  if (c?.stages) {
    for (const st of c.stages) {
      if ('weight' in st) {
        weight = st.weight;
        out.push({ weight, durationMs: st.duration ?? 0, pause: null });
      } else if (st.pause === 'manual') out.push({ weight, durationMs: 0, pause: 'manual' });
      else out.push({ weight, durationMs: st.pause, pause: 'timed' });
    }
  } else {
    const initial = c?.initial_percent ?? SEED.initial;
    const step = c?.step_percent ?? SEED.step;
    const final = c?.final_percent ?? SEED.final;
    const durationMs = c?.step_interval ?? SEED.intervalMs;
    for (let w = initial; w < final || (w === initial && initial === final); w += step) {
      weight = Math.min(w, 100);
      out.push({ weight, durationMs, pause: null });
      if (step <= 0 || w >= 100) break;
    }
  }
  if (c && !c.auto_promote) out.push({ weight, durationMs: 0, pause: 'manual', reason: 'auto_promote is off' });
  return out;
}

/**
 * Canary (DESIGN §5, seed 000 §3.3, seed 001): the release starts in the idle slot beside the live
 * one, takes a growing share of traffic stage by stage while each interval is analysed against
 * the live pool, and is promoted by moving all traffic to it (the old slot stays warm for
 * scale_down_delay). A failing analysis or `deployer abort` puts its weight to 0 at once and
 * undoes the deploy. With nothing live yet there is nothing to compare: a first deploy goes in
 * as blue-green does.
 */
export function planCanary(loaded: LoadedManifest, observed: Observed, ids: PlanIds): Plan {
  const live = livePool(observed);
  if (!observed.current) return { ...planBlueGreen(loaded, observed, ids), strategy: 'canary' };
  if (!live) {
    // a release is live, but nothing serves it on the runtime (a manager changed, state lost):
    // going to 100% at once with nothing to judge against is not what a canary promises
    throw new UsageError(`nothing serves ${observed.current} on the runtime, so a canary has no baseline to be judged against`, {
      hint: 'deploy once with `--strategy blue-green` (or `deployer doctor --repair` if the runtime lost the app), then canary from there',
    });
  }
  const { release } = ids;
  const m = loaded.manifest;
  const c = m.deployment.canary;
  const slot = idleSlot(live.name);
  const all = poolInstances(loaded, slot);
  const first = all.slice(0, c?.instances ?? all.length);
  const rest = all.slice(first.length);
  const baseline = { pool: live.name, release: observed.current };
  const stages = canaryStages(loaded);
  // each stage: one weights update, then the judgement at those weights. The update is a trial:
  // its undo puts back the weights from before the canary (none to it), so undoing the stages
  // in reverse never gives an aborted canary an earlier stage's share on the way
  const split = (w: number) => ({ [slot]: w, [baseline.pool]: 100 - w });
  const before = split(0);
  const stageSteps = (s: StagePlan, i: number): PlannedStep[] => {
    const analysis: Step = { kind: 'canary_analysis', stage: i + 1, stages: stages.length, release, pool: slot, baseline, ...s };
    return [
      { step: { kind: 'set_weights', weights: split(s.weight), previous: before, stage: i + 1 }, onError: 'abort', live: true, trial: true },
      { step: analysis, onError: 'abort' },
    ];
  };
  const routes: RouteRule[] = c?.header_route
    ? [{ ...(c.header_route.header !== undefined ? { header: c.header_route.header.toLowerCase() } : { cookie: c.header_route.cookie! }), ...(c.header_route.value !== undefined ? { value: c.header_route.value } : {}), pool: slot }]
    : [];
  // scale up before the weight that needs the whole fleet: the first stage at 100%, or the switch
  const fullAt = stages.findIndex((s) => s.weight >= 100 && s.pause === null);
  const scaleUp: PlannedStep[] = rest.length
    ? [{ step: { kind: 'start_instances', pool: slot, release, instances: rest }, onError: 'abort' }, ...poolHealthCheck(loaded, release, slot, rest.map((i) => i.port))]
    : [];
  const walk = stages.map(stageSteps);
  if (fullAt >= 0) walk.splice(fullAt, 0, scaleUp);
  else walk.push(scaleUp);
  return deployPlan(loaded, observed, ids, {
    strategy: 'canary',
    activation: (pointers, pointersBefore) => [
      ...stopLeftovers(observed),
      { step: { kind: 'start_instances', pool: slot, release, instances: first }, onError: 'abort' },
      ...poolHealthCheck(loaded, release, slot, first.map((i) => i.port)),
      ...(routes.length ? [{ step: { kind: 'set_routes', routes }, onError: 'abort' } satisfies PlannedStep] : []),
      ...walk.flat(),
      { step: { kind: 'switch_traffic', release, previous: observed.current, to: slot, from: live.name, pointers, pointersBefore }, onError: 'abort', live: true },
      ...poolHealthCheck(loaded, release, slot, all.map((i) => i.port)),
      ...(routes.length ? [{ step: { kind: 'set_routes', routes: [] }, onError: 'warn' } satisfies PlannedStep] : []),
    ],
    afterPost: scaleDown(loaded, live),
    verify: (previous) => poolHealthCheck(loaded, previous, live.name, live.instances.map((i) => i.port)),
  });
}
