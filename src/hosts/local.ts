import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { runProcess } from '../util/process.js';
import { localFs } from './local-fs.js';
import type { ProcessIdentity, Transport } from './transport.js';

function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may hold spaces and parentheses: split after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), if readable. */
export function procStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

let boot: { id: string | undefined } | null = null;

/** This boot of the machine (/proc/sys/kernel/random/boot_id), if readable: read once, it cannot change while we run. */
export function bootId(): string | undefined {
  if (boot === null) {
    try {
      boot = { id: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined };
    } catch {
      boot = { id: undefined };
    }
  }
  return boot.id;
}

/** Alive: the pid exists, is not a zombie, and (when known) started at the same time. */
export function localProcessAlive(id: ProcessIdentity): boolean {
  if (id.boot !== undefined && id.boot !== bootId()) return false;
  try {
    process.kill(id.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const fields = procStat(id.pid);
  if (fields?.[0] === 'Z') return false;
  if (id.start === undefined || fields === undefined) return true;
  return fields[19] === id.start;
}

export class LocalTransport implements Transport {
  readonly name = 'local';
  readonly fs = localFs;
  async hostname() {
    return hostname();
  }
  async user() {
    try {
      return userInfo().username;
    } catch {
      return String(process.getuid?.() ?? 'unknown');
    }
  }
  exec: Transport['exec'] = (argv, opts) => runProcess(argv, opts);
  async processAlive(id: ProcessIdentity) {
    return localProcessAlive(id);
  }
  async selfIdentity(): Promise<ProcessIdentity> {
    const start = procStartTime(process.pid);
    const boot = bootId();
    return { pid: process.pid, ...(start === undefined ? {} : { start }), ...(boot === undefined ? {} : { boot }) };
  }
}
