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
  /** rolling: drain, stop, start on the new release, check, one batch of instances at once */
  | {
      kind: 'roll_batch';
      batch: number;
      batches: number;
      release: string;
      instances: RollingInstance[];
      /** failed instances (over the whole deploy) that stop it */
      maxFailures: number;
      /** pause after this batch (batch_delay) */
      delayAfterMs: number;
    }
  /** point `current` at a release without restarting anything (rolling: the instances already run it) */
  | { kind: 'set_current'; release: string; previous: string | null; pointers: Pointers; pointersBefore: Pointers }
  /**
   * canary: one stage. Sets the weights (a pause keeps the last stage's), analyses every interval
   * and ends after its duration with a passing interval, on `deployer promote`, or aborts
   */
  | {
      kind: 'canary_stage';
      /** 1-based, of `stages` */
      stage: number;
      stages: number;
      release: string;
      /** the canary's pool */
      pool: string;
      /** the pool serving the live release, the comparison for the analysis */
      baseline: { pool: string; release: string | null };
      /** percent of traffic to the canary */
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
    case 'roll_batch':
      return `roll batch ${s.batch}/${s.batches} to ${s.release}: ${s.instances.map((i) => i.id).join(', ')} (drain, stop, start, check)`;
    case 'set_current':
      return `current -> ${s.release}`;
    case 'canary_stage':
      return describeCanaryStage(s);
    case 'set_routes':
      return s.routes.length ? `route ${s.routes.map(describeRoute).join('; ')}` : 'remove the header/cookie routes';
  }
}

function describeCanaryStage(s: Extract<Step, { kind: 'canary_stage' }>): string {
  const at = `canary ${s.stage}/${s.stages}`;
  const secs = (ms: number) => (ms % 60_000 === 0 && ms > 0 ? `${ms / 60_000}m` : `${Math.round(ms / 100) / 10}s`);
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
