import type { HookEvent } from '../manifest/schema/hooks.js';
import type { RouteRule } from '../routers/types.js';
import type { InstanceRef } from '../services/instance-manager.js';

export type { InstanceRef } from '../services/instance-manager.js';

/** Values of the pointer files in .deploy_state (null: the file is absent). */
export interface Pointers {
  rollback_point?: string | null;
  pre_rollback_release?: string | null;
}

/** An instance a rolling deploy moves, with the release it runs now. */
export interface RollingInstance extends InstanceRef {
  pool: string;
  from: string;
}

/** One action of a plan. Each kind has a handler with `run` and, where it changes something, `undo`. */
export type Step =
  | {
      kind: 'prepare_release';
      release: string;
      /** the release to hard-link unchanged files from */
      previous: string | null;
      source: string;
    }
  | { kind: 'hook'; event: HookEvent; release: string; args?: string[] }
  | {
      kind: 'activate';
      release: string;
      /** what `current` pointed at before; undo points it back (null: remove `current`) */
      previous: string | null;
      manager: string;
      pointers: Pointers;
      pointersBefore: Pointers;
    }
  | {
      kind: 'health_check';
      release: string;
      checks: string[];
      /** check each of these instance ports (`{port}`); default service.base_port */
      ports?: number[];
      pool?: string;
    }
  | { kind: 'cleanup'; keep: number }
  /** start a release's instances in a pool (no traffic yet) and wait until the router finds them healthy */
  | { kind: 'start_instances'; pool: string; release: string; instances: InstanceRef[] }
  /** blue-green's smoke tests against the idle slot */
  | { kind: 'smoke_test'; release: string; pool: string; ports: number[]; checks: string[] }
  /** requests sent straight to the idle slot's instances before it takes traffic */
  | { kind: 'warmup'; pool: string; ports: number[]; requests: number; path: string }
  /** move all traffic to a pool at once; `current` (and the blue/green/active links) follow */
  | {
      kind: 'switch_traffic';
      release: string;
      previous: string | null;
      to: string;
      /** the pool that served before (null: none) */
      from: string | null;
      pointers: Pointers;
      pointersBefore: Pointers;
    }
  /** stop a pool's instances now or (delayMs) later, from the runtime, so a rollback meanwhile is instant */
  | { kind: 'stop_instances'; pool: string; release: string | null; instances: string[]; delayMs: number }
  /** rolling: one instance out of rotation, its in-flight requests finishing (undo: back in rotation) */
  | { kind: 'drain_target'; id: string; pool: string; timeoutMs: number }
  /** rolling: one (drained) instance stopped (undo: started again on `release`, its old one, and healthy) */
  | { kind: 'stop_instance'; id: string; port: number; pool: string; release: string }
  /** rolling: one instance started on a release, held out of traffic, until healthy (undo: stopped) */
  | { kind: 'start_instance'; id: string; port: number; pool: string; release: string }
  /** rolling: one instance back in rotation (undo: drained again) */
  | { kind: 'enable_target'; id: string; pool: string; timeoutMs: number }
  /** a pause between steps (rolling's batch_delay) */
  | { kind: 'wait'; ms: number; reason: string }
  /** point `current` at a release without restarting anything (rolling: the instances already run it) */
  | { kind: 'set_current'; release: string; previous: string | null; pointers: Pointers; pointersBefore: Pointers }
  /**
   * every pool's share of traffic in one router update (undo: `previous`); `stage`: the canary
   * stage it starts (skipped when `deployer promote` ended that stage before it began)
   */
  | { kind: 'set_weights'; weights: Record<string, number>; previous: Record<string, number>; stage?: number }
  /**
   * canary: one stage's judgement at the weights set just before. Analyses every interval and
   * ends after its duration with a passing interval, on `deployer promote`, or aborts. Changes
   * nothing itself: an abort fails it, and undoing the set_weights steps puts the weight back to 0
   */
  | {
      kind: 'canary_analysis';
      /** 1-based, of `stages` */
      stage: number;
      stages: number;
      release: string;
      /** the canary's pool */
      pool: string;
      /** the pool serving the live release, the comparison for the analysis */
      baseline: { pool: string; release: string | null };
      /** percent of traffic to the canary (set by the set_weights step before) */
      weight: number;
      durationMs: number;
      /** manual: waits for `deployer promote`; timed: waits durationMs; null: a weight stage */
      pause: 'manual' | 'timed' | null;
      /** what the pause is for, when the planner added it (auto_promote: false) */
      reason?: string;
    }
  /** header/cookie rules sending matching requests to a pool whatever the weights; undo clears them */
  | { kind: 'set_routes'; routes: RouteRule[] };

export type StepKind = Step['kind'];

export interface PlannedStep {
  step: Step;
  /** abort: a failure stops the plan and undoes what ran; warn: a failure is reported and the plan goes on */
  onError: 'abort' | 'warn';
  /** the step changes what serves traffic (undoing it is a rollback) */
  live?: boolean;
  /**
   * the traffic it moves is a trial (a canary's share): undone on failure whatever
   * deployment.auto_rollback says, since the release never became the live one
   */
  trial?: boolean;
  /**
   * steps with the same batch (consecutive in the plan) run at once, one group after another
   * within each group: a rolling batch, a group per instance
   */
  batch?: number;
  /** the unit a failure is tolerated for (an instance): see Plan.tolerate */
  group?: string;
}

export interface Plan {
  operation: 'deploy' | 'rollback';
  deployId: string;
  app: string;
  strategy: string;
  release: string;
  previous: string | null;
  steps: PlannedStep[];
  /** when a live step has to be undone: hooks before, checks of what is restored, hooks after */
  rollback: { before: PlannedStep[]; verify: PlannedStep[]; after: PlannedStep[] };
  /** run whenever the operation ends failed */
  onFailure: PlannedStep[];
  /** undo live steps when a later step fails (deployment.auto_rollback) */
  undoLive: boolean;
  /** exit as "manual intervention required" (4) rather than "failed" (1) when an abort step fails */
  failureIsManual: boolean;
  /**
   * a failing step of a group does not fail the plan: that group's steps are undone, the failure
   * is journaled, and the plan goes on; the plan fails once maxFailures groups have failed
   */
  tolerate?: { maxFailures: number };
}

/** One line per step, for the plan printout and the progress display. */
export function describeStep(s: Step): string {
  switch (s.kind) {
    case 'prepare_release':
      return `prepare release ${s.release} from ${s.source}${s.previous ? ` (unchanged files linked from ${s.previous})` : ''}`;
    case 'hook':
      return `hook ${s.event}`;
    case 'activate':
      return `activate ${s.release}: switch current${s.previous ? ` from ${s.previous}` : ''}, ${s.manager === 'none' ? 'no service restart' : `restart (${s.manager})`}`;
    case 'health_check':
      return `health check ${s.release}${s.pool ? ` (${s.pool})` : ''}: ${s.checks.join(', ')}${s.ports && s.ports.length > 1 ? ` on ${s.ports.length} instances` : ''}`;
    case 'cleanup':
      return `cleanup: keep ${s.keep} releases`;
    case 'start_instances':
      return `start ${s.release} in pool ${s.pool}: ${describeInstances(s.instances)}`;
    case 'smoke_test':
      return `smoke tests on ${s.pool} (${s.release}): ${s.checks.join(', ')}`;
    case 'warmup':
      return `warm up ${s.pool}: ${s.requests} request(s) to ${s.path} on ${s.ports.length} instance(s)`;
    case 'switch_traffic':
      return `switch traffic ${s.from ? `from ${s.from} ` : ''}to ${s.to} (${s.release}); current -> ${s.release}`;
    case 'stop_instances':
      return `${s.delayMs > 0 ? `stop pool ${s.pool} in ${Math.round(s.delayMs / 1000)} s (kept warm for an instant rollback)` : `stop pool ${s.pool}`}${s.release ? ` (${s.release})` : ''}`;
    case 'drain_target':
      return `drain ${s.id} (${s.pool}) out of rotation`;
    case 'stop_instance':
      return `stop ${s.id}:${s.port} (${s.release})`;
    case 'start_instance':
      return `start ${s.id}:${s.port} on ${s.release}, out of rotation`;
    case 'enable_target':
      return `put ${s.id} (${s.pool}) back in rotation`;
    case 'wait':
      return `wait ${secs(s.ms)} (${s.reason})`;
    case 'set_weights':
      return `weights ${describeWeights(s.weights)}${s.stage !== undefined ? ` (canary stage ${s.stage})` : ''}`;
    case 'set_current':
      return `current -> ${s.release}`;
    case 'canary_analysis':
      return describeCanaryStage(s);
    case 'set_routes':
      return s.routes.length ? `route ${s.routes.map(describeRoute).join('; ')}` : 'remove the header/cookie routes';
  }
}

const secs = (ms: number) => (ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000}m` : `${Math.round(ms / 100) / 10}s`);

function describeWeights(w: Record<string, number>): string {
  return Object.entries(w).map(([pool, pct]) => `${pool} ${pct}%`).join(', ');
}

function describeCanaryStage(s: Extract<Step, { kind: 'canary_analysis' }>): string {
  const at = `canary ${s.stage}/${s.stages}`;
  if (s.pause === 'manual') return `${at}: pause at ${s.weight}% until \`deployer promote\`${s.reason ? ` (${s.reason})` : ''}`;
  if (s.pause === 'timed') return `${at}: pause at ${s.weight}% for ${secs(s.durationMs)}`;
  return `${at}: ${s.weight}% of traffic to ${s.pool} (${s.release}), ${100 - s.weight}% to ${s.baseline.pool}${s.durationMs > 0 ? ` for ${secs(s.durationMs)}` : ''}`;
}

function describeRoute(r: RouteRule): string {
  const what = r.header !== undefined ? `header ${r.header}` : `cookie ${r.cookie}`;
  return `requests with ${what}${r.value !== undefined ? `=${r.value}` : ''} to ${r.pool}`;
}

function describeInstances(list: InstanceRef[]): string {
  return list.map((i) => `${i.id}:${i.port}`).join(', ');
}
