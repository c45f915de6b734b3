import type { Step, StepKind } from '../../plan/steps.js';
import type { RunContext } from '../context.js';

export interface StepResult {
  status: 'done' | 'skipped';
  detail?: string;
}

export interface UndoInfo {
  /** a live step of this operation ran, so the release was (maybe) serving */
  liveChanged: boolean;
}

export interface StepHandler<S extends Step = Step> {
  run(step: S, ctx: RunContext): Promise<StepResult>;
  /** Puts back what `run` changed. Must be safe to call after a partial run, and twice. */
  undo?(step: S, ctx: RunContext, info: UndoInfo): Promise<void>;
}

export type Handlers = { [K in StepKind]: StepHandler<Extract<Step, { kind: K }>> };

const UNCHANGED = Symbol('changed nothing');

/** Marks an error thrown before the step changed anything, so the runner neither undoes it nor counts it as live. */
export function nothingChanged<E extends Error>(e: E): E {
  (e as E & { [UNCHANGED]?: true })[UNCHANGED] = true;
  return e;
}

export function changedNothing(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { [UNCHANGED]?: true })[UNCHANGED] === true;
}
