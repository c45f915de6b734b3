import type { StartFailure } from './errors.js';

interface About {
  app: string;
  id: string;
}

/**
 * What the supervisor tells the daemon. `exited` means the target is down at once: the daemon
 * takes it out of the router before any health check notices.
 */
export type SupervisorEvent =
  /** spawned, first time or again; `restarts` counts the restarts after crashes so far */
  | (About & { type: 'started'; pid: number; restarts: number })
  /** a process left by an earlier daemon is managed again */
  | (About & { type: 'adopted'; pid: number })
  /** exited without being asked to (code and signal are null for an adopted process) */
  | (About & { type: 'exited'; pid: number; code: number | null; signal: string | null; ranMs: number; restartInMs: number })
  /** a restart could not spawn it (port taken, directory gone, …); it tries again later */
  | (About & { type: 'restart-failed'; reason: StartFailure; message: string; restartInMs: number })
  /** stop() finished; `killed`: SIGTERM was not enough */
  | (About & { type: 'stopped'; pid: number | null; killed: boolean })
  | (About & { type: 'log-rotated'; file: string })
  | (About & { type: 'log-error'; file: string; message: string });

export type LastExit = { code: number | null; signal: string | null; at: number };

/** The answer of waitStable(): still up after the wait, or what happened instead. */
export type Stability =
  | { stable: true; pid: number }
  | {
      stable: false;
      exit: LastExit | null;
      /** e.g. `instance blue-0 exited right after starting (code 1):\n<last lines of its log>` */
      message: string;
      logTail: string;
    };
