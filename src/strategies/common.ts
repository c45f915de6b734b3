import { fillTemplate } from '../manifest/checks.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { HookEvent } from '../manifest/schema/hooks.js';
import { displayUrl } from '../util/url.js';
import type { Plan, PlannedStep, Pointers } from '../plan/steps.js';
import type { Observed } from './observe.js';

export const hook = (event: HookEvent, release: string, onError: 'abort' | 'warn', args?: string[]): PlannedStep => ({
  step: { kind: 'hook', event, release, ...(args ? { args } : {}) },
  onError,
});

/** The hooks that prepare a release before anything live changes (DESIGN §5): any failure aborts. */
export const PRE_HOOKS: HookEvent[] = ['pre_deploy', 'check_dependencies', 'pre_build', 'build'];
/** The hooks after a successful activation: a failure warns. */
export const POST_HOOKS: HookEvent[] = ['post_deploy', 'post_activate', 'notify'];

export function describeSource(loaded: LoadedManifest): string {
  const s = loaded.manifest.source;
  switch (s.type) {
    case 'local':
      return `directory ${s.path ?? s.url ?? '.'}`;
    case 'archive':
      return `archive ${displayUrl((s.url ?? s.path)!)}`;
    case 'git':
      return `git ${displayUrl(s.url!)}${s.branch ?? s.ref ? ` at ${s.branch ?? s.ref}` : ''}`;
  }
}

/** Health checks of a release's instances in a pool, each `{port}` filled per instance. */
export function poolHealthCheck(loaded: LoadedManifest, release: string, pool: string, ports: number[]): PlannedStep[] {
  if (loaded.checks.length === 0) return [];
  const vars = { port: ports.length === 1 ? ports[0] : '{port}', host: '127.0.0.1', release, pool };
  return [{ step: { kind: 'health_check', release, pool, ports, checks: loaded.checks.map((c) => fillTemplate(c.label, vars)) }, onError: 'abort' }];
}

/** Health-check step for a release, or nothing when the manifest has no checks. */
export function healthCheck(loaded: LoadedManifest, release: string): PlannedStep[] {
  if (loaded.checks.length === 0) return [];
  const vars = { port: loaded.manifest.service.base_port, host: '127.0.0.1', release, pool: '' };
  return [{ step: { kind: 'health_check', release, checks: loaded.checks.map((c) => fillTemplate(c.label, vars)) }, onError: 'abort' }];
}

export interface DeployShape {
  strategy: string;
  /** what makes the release live, with its checks */
  activation: (pointers: Pointers, pointersBefore: Pointers) => PlannedStep[];
  /** after the post hooks, before cleanup (blue-green: stop the old slot later) */
  afterPost?: PlannedStep[];
  /** checks of the previous release once a failed deploy has been undone */
  verify: (previous: string) => PlannedStep[];
}

/**
 * Every deploy has the same frame (DESIGN §5): prepare, build hooks, the strategy's activation,
 * post hooks, cleanup; rollback hooks around undoing a live step; on_failure.
 */
export function deployPlan(loaded: LoadedManifest, observed: Observed, ids: { deployId: string; release: string }, shape: DeployShape): Plan {
  const m = loaded.manifest;
  const { release } = ids;
  const previous = observed.current;
  // a new deploy makes the live release the rollback point; roll-forward no longer applies
  const pointers: Pointers = { ...(previous ? { rollback_point: previous } : {}), pre_rollback_release: null };
  const pointersBefore: Pointers = { rollback_point: observed.rollbackPoint, pre_rollback_release: observed.preRollback };
  return {
    operation: 'deploy',
    deployId: ids.deployId,
    app: m.name,
    strategy: shape.strategy,
    release,
    previous,
    steps: [
      { step: { kind: 'prepare_release', release, previous, source: describeSource(loaded) }, onError: 'abort' },
      ...PRE_HOOKS.map((e) => hook(e, release, 'abort')),
      hook('pre_activate', release, 'abort'),
      ...shape.activation(pointers, pointersBefore),
      ...POST_HOOKS.map((e) => hook(e, release, 'warn')),
      ...(shape.afterPost ?? []),
      { step: { kind: 'cleanup', keep: m.deployment.keep_releases }, onError: 'warn' },
    ],
    rollback: previous
      ? {
          before: [hook('pre_rollback', previous, 'warn')],
          verify: shape.verify(previous),
          after: [hook('post_rollback', previous, 'warn'), hook('on_rollback', previous, 'warn', [release, previous])],
        }
      : { before: [], verify: [], after: [] },
    onFailure: [hook('on_failure', previous ?? release, 'warn')],
    undoLive: m.deployment.auto_rollback,
    failureIsManual: false,
  };
}
