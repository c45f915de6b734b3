// nginx's processes as `ps -eo pid=,ppid=,args=` shows them: masters and their worker generations.
// A reload starts new workers and asks the old ones to finish their requests and exit; these pure
// functions say when that happened (the switch is live) and when the old ones are gone (drained).

export interface NginxWorker {
  pid: number;
  /** the worker got the graceful-quit signal: it closed its listening sockets and finishes its requests */
  shuttingDown: boolean;
}

/** master pid -> its workers */
export type NginxProcesses = Map<number, NginxWorker[]>;

/** Parses `ps -eo pid=,ppid=,args=` output. */
export function parseNginxProcesses(ps: string): NginxProcesses {
  const rows = ps
    .split('\n')
    .map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]!.trim() }));
  const out: NginxProcesses = new Map();
  for (const r of rows) if (r.args.startsWith('nginx: master process')) out.set(r.pid, []);
  for (const r of rows) {
    const workers = out.get(r.ppid);
    if (workers && r.args.startsWith('nginx: worker process')) workers.push({ pid: r.pid, shuttingDown: r.args.includes('is shutting down') });
  }
  return out;
}

/**
 * The masters that took a reload since `before`: a worker that was not there before runs, and
 * every worker that was there is gone or shutting down (so no request is served by the old
 * configuration any more). Masters with no workers before are left out.
 */
export function reloadedMasters(before: NginxProcesses, now: NginxProcesses): number[] {
  const out: number[] = [];
  for (const [master, old] of before) {
    const cur = now.get(master);
    if (old.length === 0 || cur === undefined) continue;
    const oldPids = new Set(old.map((w) => w.pid));
    const fresh = cur.some((w) => !oldPids.has(w.pid) && !w.shuttingDown);
    const oldServing = cur.some((w) => oldPids.has(w.pid) && !w.shuttingDown);
    if (fresh && !oldServing) out.push(master);
  }
  return out;
}

/** Workers of `masters` in `before` that still run in `now` (they hold requests of the old configuration). */
export function oldWorkersLeft(before: NginxProcesses, now: NginxProcesses, masters: number[]): number[] {
  const alive = new Set([...now.values()].flat().map((w) => w.pid));
  return masters.flatMap((m) => (before.get(m) ?? []).map((w) => w.pid)).filter((pid) => alive.has(pid));
}
