import { execChecked } from '../hosts/exec-checked.js';
import type { Transport } from '../hosts/transport.js';
import type { HookEvent } from '../manifest/schema/hooks.js';
import type { HookCommand } from './resolve.js';

export interface HookEnvInput {
  /** a hook event, or `restart` for the service manager's commands */
  event: HookEvent | 'restart';
  appRoot: string;
  releaseDir: string | null;
  releaseId: string | null;
  strategy: string;
  host: string;
  deployId: string;
  timestamp: string;
  previousRelease?: string | null;
  version?: string;
  /** the manifest's environment: */
  environment: Record<string, string>;
}

/** The environment a hook runs with (DESIGN §5): the manifest's `environment:`, then DEPLOY_*. */
export function hookEnv(i: HookEnvInput, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    ...i.environment,
    DEPLOY_HOOK_NAME: i.event,
    DEPLOY_APP_ROOT: i.appRoot,
    DEPLOY_RELEASE_DIR: i.releaseDir ?? '',
    RELEASE_DIR: i.releaseDir ?? '',
    DEPLOY_RELEASE_ID: i.releaseId ?? '',
    DEPLOY_TIMESTAMP: i.timestamp,
    DEPLOY_STRATEGY: i.strategy,
    DEPLOY_HOST: i.host,
    DEPLOY_ID: i.deployId,
    DEPLOY_PREVIOUS_RELEASE: i.previousRelease ?? '',
    DEPLOY_VERSION: i.version ?? '',
  };
}

export interface RunHookOptions {
  transport: Transport;
  cwd: string;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** positional arguments for scripts (on_rollback gets the failed and the restored release) */
  args?: string[];
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

/** Runs the hook's commands in order; the first failure throws CommandFailed with the tail of its output. */
export async function runHookCommands(event: HookEvent, commands: HookCommand[], o: RunHookOptions): Promise<void> {
  for (const c of commands) {
    const argv = c.kind === 'inline' ? ['sh', '-c', c.command, event, ...(o.args ?? [])] : [c.path, ...(o.args ?? [])];
    const what = `hook ${event}: ${c.kind === 'inline' ? `command "${c.command}"` : `script ${c.display}`}`;
    await execChecked(o.transport, argv, what, {
      cwd: o.cwd,
      env: o.env,
      timeoutMs: o.timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
      ...(o.onLine ? { onLine: o.onLine } : {}),
    });
  }
}
