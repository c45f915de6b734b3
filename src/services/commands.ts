/**
 * Command builders for the service managers: they return argv and never run anything, so
 * tests compare them exactly and any transport (local, SSH) can run them.
 */

/** A manifest command line, run by the host's shell. */
export const shellCommand = (command: string): string[] => ['sh', '-c', command];

/** Send `signal` to `pid`. */
export const signalCommand = (signal: string, pid: number): string[] => ['kill', '-s', signal, String(pid)];
