import type { LoadedManifest } from '../manifest/load.js';
import type { Plan } from '../plan/steps.js';
import { poolInstances, usesRuntime } from '../runtime/app-config.js';
import { describeSource, healthCheck, hook, poolHealthCheck, POST_HOOKS, PRE_HOOKS } from './common.js';
import type { Observed } from './observe.js';

export interface PlanIds {
  deployId: string;
  release: string;
}

/**
 * Recreate ("big bang", seed 000): prepare the release, run the build hooks, switch `current`
 * and restart, check; on a failed check go back to the previous release.
 */
export function planRecreate(loaded: LoadedManifest, observed: Observed, ids: PlanIds): Plan {
  const m = loaded.manifest;
  const { release } = ids;
  const previous = observed.current;
  // on the runtime, recreate restarts every instance in pool `stable`; each one is checked
  const check = (r: string) => (usesRuntime(loaded) ? poolHealthCheck(loaded, r, 'stable', poolInstances(loaded, 'stable').map((i) => i.port)) : healthCheck(loaded, r));
  return {
    operation: 'deploy',
    deployId: ids.deployId,
    app: m.name,
    strategy: 'recreate',
    release,
    previous,
    steps: [
      { step: { kind: 'prepare_release', release, previous, source: describeSource(loaded) }, onError: 'abort' },
      ...PRE_HOOKS.map((e) => hook(e, release, 'abort')),
      hook('pre_activate', release, 'abort'),
      {
        step: {
          kind: 'activate',
          release,
          previous,
          manager: m.service.manager,
          // a new deploy makes the live release the rollback point; roll-forward no longer applies
          pointers: { ...(previous ? { rollback_point: previous } : {}), pre_rollback_release: null },
          pointersBefore: { rollback_point: observed.rollbackPoint, pre_rollback_release: observed.preRollback },
        },
        onError: 'abort',
        live: true,
      },
      ...check(release),
      ...POST_HOOKS.map((e) => hook(e, release, 'warn')),
      { step: { kind: 'cleanup', keep: m.deployment.keep_releases }, onError: 'warn' },
    ],
    rollback: previous
      ? {
          before: [hook('pre_rollback', previous, 'warn')],
          verify: check(previous),
          after: [hook('post_rollback', previous, 'warn'), hook('on_rollback', previous, 'warn', [release, previous])],
        }
      : { before: [], verify: [], after: [] },
    onFailure: [hook('on_failure', previous ?? release, 'warn')],
    undoLive: m.deployment.auto_rollback,
    failureIsManual: false,
  };
}
