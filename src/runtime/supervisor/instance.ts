import type { ChildProcess } from 'node:child_process';
import type { InstanceRunState, InstanceSpec, InstanceStatus } from '../model.js';
import type { Backoff } from './backoff.js';
import type { LastExit } from './events.js';

/** What the supervisor knows of one instance. */
export interface Entry {
  spec: InstanceSpec;
  state: InstanceRunState;
  /** it should be running: false from the moment stop() is called */
  wanted: boolean;
  pid: number | null;
  /** /proc start time of pid */
  start: string | undefined;
  /** our child; null for an adopted process (watched by polling) or when none runs */
  child: ChildProcess | null;
  startedAt: number | null;
  /** clock.monotonic() at the last start, to measure how long a run lasted */
  startedMono: number;
  restarts: number;
  lastExit: LastExit | null;
  /** why the last start or restart failed, while it is not running */
  lastError: string | null;
  backoff: Backoff;
  /** the one background timer it may have: a pending restart, or the watch of an adopted process */
  timer: unknown;
  /** start, restart and stop run one at a time */
  queue: Promise<unknown>;
  /** called at the next exit of the current run */
  exitWaiters: Set<(exit: LastExit) => void>;
}

export function key(app: string, id: string): string {
  return `${app}/${id}`;
}

export function newEntry(spec: InstanceSpec, backoff: Backoff): Entry {
  return {
    spec,
    state: 'starting',
    wanted: true,
    pid: null,
    start: undefined,
    child: null,
    startedAt: null,
    startedMono: 0,
    restarts: 0,
    lastExit: null,
    lastError: null,
    backoff,
    timer: null,
    queue: Promise.resolve(),
    exitWaiters: new Set(),
  };
}

export function toStatus(e: Entry): InstanceStatus {
  const { app, id, pool, port, release } = e.spec;
  return { app, id, pool, port, release, pid: e.pid, state: e.state, restarts: e.restarts, startedAt: e.startedAt, lastExit: e.lastExit && { ...e.lastExit } };
}

/** Running, starting, backing off or stopping: anything but stopped (or failed with no process left). */
export function isActive(e: Entry): boolean {
  return !(e.state === 'stopped' || (e.state === 'failed' && e.pid === null));
}

/** `code 1`, `SIGKILL`, or `exit status unknown` (an adopted process is not our child). */
export function describeExit(exit: LastExit | null): string {
  if (exit?.signal) return exit.signal;
  return exit?.code == null ? 'exit status unknown' : `code ${exit.code}`;
}
