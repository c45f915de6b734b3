import type { Command } from 'commander';

type Register = (program: Command) => void;

/**
 * Each verb's module, loaded on demand: a run loads only its own verb (and what that imports),
 * so `deployer status` does not parse the archive or git code. Help loads them all.
 */
export const VERBS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./init.js')).registerInit,
  validate: async () => (await import('./validate.js')).registerValidate,
  deploy: async () => (await import('./deploy.js')).registerDeploy,
  rollback: async () => (await import('./rollback.js')).registerRollback,
  promote: async () => (await import('./canary-control.js')).registerCanaryControl,
  abort: async () => (await import('./canary-control.js')).registerCanaryControl,
  runtime: async () => (await import('./runtime.js')).registerRuntime,
  router: async () => (await import('./router.js')).registerRouter,
  status: async () => (await import('./status.js')).registerStatus,
  releases: async () => (await import('./releases.js')).registerReleases,
  history: async () => (await import('./history.js')).registerHistory,
  cleanup: async () => (await import('./cleanup.js')).registerCleanup,
  protect: async () => (await import('./protect.js')).registerProtect,
  unprotect: async () => (await import('./protect.js')).registerProtect,
  doctor: async () => (await import('./doctor.js')).registerDoctor,
  unlock: async () => (await import('./unlock.js')).registerUnlock,
  schema: async () => (await import('./schema.js')).registerSchema,
};

/** The verbs that read or tidy an app's state: on a fleet, each host answers for itself (cli/fleet-route.ts). */
export const FLEET_VERBS: ReadonlySet<string> = new Set(['status', 'releases', 'history', 'cleanup', 'protect', 'unprotect', 'doctor', 'unlock', 'promote', 'abort']);

/** Registers the verb named in argv, or every verb (for help and unknown commands). */
export async function registerCommands(program: Command, args: readonly string[]): Promise<void> {
  const verb = verbOf(args);
  const loaders = verb && VERBS[verb] ? [VERBS[verb]] : Object.values(VERBS);
  const done = new Set<Register>();
  for (const load of loaders) {
    const register = await load();
    if (done.has(register)) continue;
    done.add(register);
    register(program);
  }
}

/** The first argument that is not a global option or its value. */
export function verbOf(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-f' || a === '--file' || a === '-e' || a === '--env') i++;
    else if (!a.startsWith('-')) return a;
  }
  return undefined;
}
