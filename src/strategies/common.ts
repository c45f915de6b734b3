import { fillTemplate } from '../manifest/checks.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { HookEvent } from '../manifest/schema/hooks.js';
import { redactUrl } from '../release/sources/download.js';
import type { PlannedStep } from '../plan/steps.js';

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
      return `archive ${redactUrl((s.url ?? s.path)!)}`;
    case 'git':
      return `git ${redactUrl(s.url!)}${s.branch ?? s.ref ? ` at ${s.branch ?? s.ref}` : ''}`;
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
