import type { HookEvent } from '../manifest/schema/hooks.js';

/** Values of the pointer files in .deploy_state (null: the file is absent). */
export interface Pointers {
  rollback_point?: string | null;
  pre_rollback_release?: string | null;
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
  | { kind: 'health_check'; release: string; checks: string[] }
  | { kind: 'cleanup'; keep: number };

export type StepKind = Step['kind'];

export interface PlannedStep {
  step: Step;
  /** abort: a failure stops the plan and undoes what ran; warn: a failure is reported and the plan goes on */
  onError: 'abort' | 'warn';
  /** the step changes what serves traffic (undoing it is a rollback) */
  live?: boolean;
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
      return `health check ${s.release}: ${s.checks.join(', ')}`;
    case 'cleanup':
      return `cleanup: keep ${s.keep} releases`;
  }
}
