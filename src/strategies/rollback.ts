import { UsageError } from '../errors.js';
import type { LoadedManifest } from '../manifest/load.js';
import { compareReleaseIds } from '../release/id.js';
import type { Plan } from '../plan/steps.js';
import { healthCheck, hook } from './common.js';
import type { Observed } from './observe.js';

export interface RollbackRequest {
  deployId: string;
  /** --to RELEASE; default the rollback point */
  to?: string;
}

/** The newest complete release older than `id`, other than `except`. */
function releaseBefore(observed: Observed, id: string, except?: string | null): string | null {
  const older = observed.releases.filter((r) => !r.failed && r.complete && compareReleaseIds(r.id, id) < 0 && r.id !== except);
  return older.at(-1)?.id ?? null;
}

/** Picks the release to go back to, or says clearly why there is none. */
export function rollbackTarget(observed: Observed, to?: string): string {
  const { current } = observed;
  if (to !== undefined) {
    const r = observed.releases.find((x) => x.id === to && !x.failed);
    if (!r) throw new UsageError(`release ${to} does not exist`, { hint: 'see `deployer releases`' });
    if (!r.complete) throw new UsageError(`release ${to} is incomplete (no .release_meta): it never finished preparing`);
    if (to === current) throw new UsageError(`release ${to} is already live`);
    return to;
  }
  const point = observed.rollbackPoint;
  if (point && point !== current && observed.releases.some((r) => r.id === point && r.complete && !r.failed)) return point;
  const before = current ? releaseBefore(observed, current) : null;
  if (before) return before;
  throw new UsageError(current ? `no release to roll back to: ${current} is the oldest release` : 'nothing is deployed yet: no release to roll back to');
}

/**
 * Rollback (seed 000 §7.1): pre_rollback, switch `current` back and restart, check; then
 * post_rollback and on_rollback. A failed check is not undone: it needs a human (exit 4).
 */
export function planRollback(loaded: LoadedManifest, observed: Observed, req: RollbackRequest): Plan {
  const target = rollbackTarget(observed, req.to);
  const from = observed.current;
  return {
    operation: 'rollback',
    deployId: req.deployId,
    app: loaded.manifest.name,
    strategy: 'rollback',
    release: target,
    previous: from,
    steps: [
      hook('pre_rollback', target, 'warn'),
      {
        step: {
          kind: 'activate',
          release: target,
          previous: from,
          manager: loaded.manifest.service.manager,
          // a second rollback goes further back; `rollback --forward` returns to `from`
          pointers: { rollback_point: releaseBefore(observed, target, from), pre_rollback_release: from },
          pointersBefore: { rollback_point: observed.rollbackPoint, pre_rollback_release: observed.preRollback },
        },
        onError: 'abort',
        live: true,
      },
      ...healthCheck(loaded, target),
      hook('post_rollback', target, 'warn'),
      hook('on_rollback', target, 'warn', [from ?? '', target]),
    ],
    rollback: { before: [], verify: [], after: [] },
    onFailure: [hook('on_failure', target, 'warn')],
    undoLive: false,
    failureIsManual: true,
  };
}
