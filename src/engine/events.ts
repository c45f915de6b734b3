import type { IntervalResult } from '../analysis/types.js';
import type { Plan } from '../plan/steps.js';

export type Phase = 'main' | 'rollback' | 'failure';

/** What the runner reports as it goes; renderers and the deploy log subscribe. */
export type RunEvent =
  | { type: 'plan'; plan: Plan }
  | { type: 'step_start'; phase: Phase; index: number; total: number; title: string }
  | { type: 'step_end'; phase: Phase; index: number; title: string; status: 'done' | 'skipped' | 'failed' | 'warned'; durationMs: number; detail?: string; error?: string }
  | { type: 'undo_start'; index: number; title: string }
  | { type: 'undo_end'; index: number; title: string; ok: boolean; durationMs: number; error?: string }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; source?: string }
  /** a canary analysis interval was judged */
  | { type: 'analysis'; stage: number; stages: number; weight: number; result: IntervalResult; failures: number; failureLimit: number }
  | { type: 'check_attempt'; check: string; attempt: number; ok: boolean; detail: string; durationMs: number };

export type Emit = (e: RunEvent) => void;
