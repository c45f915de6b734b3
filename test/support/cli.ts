import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const BIN = `${ROOT}bin/deployer.js`;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** the last line of stdout parsed as JSON, when it is JSON */
  json?: Record<string, unknown>;
}

export interface CliOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

function lastJson(stdout: string): Record<string, unknown> | undefined {
  const last = stdout.trim().split('\n').pop();
  if (!last) return undefined;
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Runs the built CLI as a real process. */
export function cli(args: string[], o: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd,
      env: { ...process.env, CI: 'true', NO_COLOR: '1', ...o.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const json = lastJson(stdout);
      resolve({ code, signal, stdout, stderr, ...(json ? { json } : {}) });
    });
  });
}

export function cliSync(args: string[], o: CliOptions): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: o.cwd,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...o.env },
    encoding: 'utf8',
    timeout: o.timeoutMs ?? 60_000,
  });
  const json = lastJson(r.stdout);
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, ...(json ? { json } : {}) };
}
