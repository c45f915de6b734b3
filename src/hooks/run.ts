import { CommandFailed } from '../errors.js';
import type { Transport } from '../hosts/transport.js';
import type { HookEvent } from '../manifest/schema/hooks.js';
import { describeExit } from '../util/process.js';
import type { HookCommand } from './resolve.js';

export interface HookEnvInput {
  event: HookEvent;
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
    const tail: string[] = [];
    const r = await o.transport.exec(argv, {
      cwd: o.cwd,
      env: o.env,
      timeoutMs: o.timeoutMs,
      ...(o.signal ? { signal: o.signal } : {}),
      onLine: (line, stream) => {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        o.onLine?.(line, stream);
      },
    });
    if (r.code !== 0 || r.timedOut || r.spawnError) {
      const what = c.kind === 'inline' ? `command "${c.command}"` : `script ${c.display}`;
      const out = tail.filter((l) => l.trim()).slice(-10);
      throw new CommandFailed(`hook ${event}: ${what} ${describeExit(r, o.timeoutMs)}${out.length ? `\n${out.map((l) => `    | ${l}`).join('\n')}` : ''}`);
    }
  }
}
