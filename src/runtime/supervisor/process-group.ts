import { readdirSync, readFileSync } from 'node:fs';
import { localProcessAlive } from '../../hosts/local.js';

/** Sends `signal` to every process of group `pgid`; false when there is none (or it is not ours). */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether group `pgid` still has a live member. Zombies do not count: pid 1 here does not reap
 * orphans, so a grandchild killed with its group may stay a zombie for good. Reads /proc only
 * when the kernel says the group exists.
 */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // fields after the command name: state, ppid, pgrp, …
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[2] === String(pgid) && fields[0] !== 'Z') return true;
  }
  return false;
}

/** The instance's process is gone: its leader is dead (or the pid is someone else's) and so is its group. */
export function instanceGone(pid: number, start: string | undefined): boolean {
  return !localProcessAlive(start === undefined ? { pid } : { pid, start }) && !groupAlive(pid);
}
