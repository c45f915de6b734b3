// Fixtures the planner tests share: observed releases and pools, and views of a plan's steps.
import type { Plan, Step } from '../plan/steps.js';
import type { ReleaseInfo } from '../release/list.js';
import type { ObservedPool } from './observe.js';

export const info = (id: string): ReleaseInfo => ({ id, dir: `/srv/shop/releases/${id}`, complete: true, protected: false, failed: false, meta: null });

/** A pool of `n` running instances of `release` on base, base+1, ... */
export const pool = (name: string, weight: number, release: string, base: number, n = 3): ObservedPool => ({
  name,
  weight,
  instances: Array.from({ length: n }, (_, i) => ({ id: `${name}-${i}`, port: base + i, release, state: 'running' })),
});

/** The plan's step kinds, hooks as `hook:<event>`. */
export const kinds = (p: Plan): string[] => p.steps.map((s) => (s.step.kind === 'hook' ? `hook:${s.step.event}` : s.step.kind));

export const stepOf = <K extends Step['kind']>(p: Plan, kind: K): Extract<Step, { kind: K }>[] =>
  p.steps.filter((s) => s.step.kind === kind).map((s) => s.step as Extract<Step, { kind: K }>);
