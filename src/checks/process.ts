import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckSpec, ProbeResult } from './types.js';

type ProcessSpec = Extract<CheckSpec, { type: 'process' }>;

/** The kernel keeps at most 15 characters of a program name in /proc/PID/comm. */
const COMM_MAX = 15;

/**
 * `pid`: the process exists (EPERM counts: it exists but is not ours) and is not a zombie.
 * `name`: some non-zombie process has exactly that name, like `pgrep -x`.
 * Both: the pid is alive and has that name. Never rejects.
 */
export async function probeProcess(spec: ProcessSpec, procRoot = '/proc'): Promise<ProbeResult> {
  const started = performance.now();
  const result = (ok: boolean, detail: string): ProbeResult => ({
    ok,
    detail,
    durationMs: performance.now() - started,
  });
  const { pid, name } = spec;
  if (pid !== undefined) {
    if (!Number.isSafeInteger(pid) || pid <= 0) return result(false, `invalid pid ${pid}`);
    if (!isAlive(pid) || (await stateOf(procRoot, pid)) === 'Z') return result(false, `pid ${pid} is not running`);
    if (name !== undefined && !(await hasName(procRoot, pid, name))) {
      return result(false, `pid ${pid} is running but is not named ${JSON.stringify(name)}`);
    }
    return result(true, `pid ${pid} is running`);
  }
  if (name === undefined || name === '') return result(false, 'process check needs a pid or a name');
  let pids: number[];
  try {
    pids = await findByName(procRoot, name);
  } catch (err) {
    return result(false, `cannot list processes in ${procRoot}: ${(err as Error).message}`);
  }
  if (pids.length === 0) return result(false, `no process named ${JSON.stringify(name)}`);
  const shown = pids.slice(0, 5).join(', ') + (pids.length > 5 ? ', …' : '');
  return result(true, `process named ${JSON.stringify(name)} is running (pid ${shown})`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of live (non-zombie) processes named `name`, in ascending order. */
export async function findByName(procRoot: string, name: string): Promise<number[]> {
  const entries = await readdir(procRoot);
  const pids = entries.filter((e) => /^\d+$/.test(e)).map(Number);
  const found: number[] = [];
  await Promise.all(
    pids.map(async (pid) => {
      if ((await hasName(procRoot, pid, name)) && (await stateOf(procRoot, pid)) !== 'Z') found.push(pid);
    }),
  );
  return found.sort((a, b) => a - b);
}

async function hasName(procRoot: string, pid: number, name: string): Promise<boolean> {
  const comm = await readOrUndefined(path.join(procRoot, String(pid), 'comm'));
  if (comm === undefined) return false;
  if (comm.replace(/\n$/, '') === name) return true;
  if (name.length <= COMM_MAX) return false;
  // comm is truncated: compare the long name with the program named by argv[0]
  const cmdline = await readOrUndefined(path.join(procRoot, String(pid), 'cmdline'));
  const argv0 = cmdline?.split('\0')[0];
  return !!argv0 && path.basename(argv0) === name;
}

/** The one-letter state from /proc/PID/stat (R, S, D, Z, ...), or undefined when unreadable. */
async function stateOf(procRoot: string, pid: number): Promise<string | undefined> {
  const stat = await readOrUndefined(path.join(procRoot, String(pid), 'stat'));
  if (stat === undefined) return undefined;
  // "pid (comm) S ...": comm may hold spaces and parentheses, so look after the last ')'
  return stat.slice(stat.lastIndexOf(')') + 1).trim().charAt(0) || undefined;
}

async function readOrUndefined(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch {
    return undefined; // the process ended while we looked, or /proc is not there
  }
}
