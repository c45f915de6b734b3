// Types of hosts.mjs (plain JavaScript, shared by the TypeScript tests and the node-only benchmarks).
import type { Host, HostsFiles, HostsKnobs, HostsOptions } from './layout.mjs';

export type { Host, HostsFiles, HostsKnobs, HostsOptions } from './layout.mjs';

/** The hosts up: the client's files, and hosts 1..n. */
export interface HostSet extends HostsFiles {
  state: string;
  hosts: Host[];
}

export interface NamespacedHosts {
  knobs: HostsKnobs;
  files: HostsFiles;
  host(i: number): Host;
  /** brings hosts 1..n up (a previous set with these knobs taken down first); root */
  up(n: number): Promise<HostSet>;
  /** takes the set down, whoever brought it up; root */
  down(): Promise<void>;
  /** the set up now; throws when it is not */
  current(): HostSet;
  /** host i's sshd (PID 1 of its PID namespace) as this machine sees it; undefined when down */
  sshdPid(i: number): number | undefined;
  /** SIGKILLs host i's sshd and with it all on that host; resolves with its pid once port 22 refuses */
  kill(i: number): Promise<number>;
  /** relaunches host i's sshd unless it runs; resolves once ssh to it works */
  revive(i: number): Promise<void>;
  /** SIGKILLs host i's ssh sessions (not its sshd); returns how many */
  cutSessions(i: number): number;
  /** closes the ssh ControlMaster connections whose sockets are in dir (default: the set's cm/) */
  closeMasters(dir?: string): void;
}

export function namespacedHosts(options: HostsOptions): NamespacedHosts;
