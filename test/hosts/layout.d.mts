// Types of layout.mjs (plain JavaScript, shared by the TypeScript tests and the node-only benchmarks).

export interface HostsOptions {
  /** absolute state dir: keys, configs, each host's private dirs under h<i>/fs */
  state: string;
  /** a /24 prefix such as 10.250.0: this machine is <subnet>.1 on the bridge */
  subnet: string;
  /** host i is <subnet>.<base + i> (default 10) */
  base?: number;
  /** the bridge's interface name */
  bridge: string;
  /** host i's network namespace is <nsPrefix><i>, its veth v<nsPrefix><i> */
  nsPrefix: string;
  /** host i's hostname is <namePrefix><i> (default host) */
  namePrefix?: string;
  /** directories each host has of its own, bound from h<i>/fs/<dir> (default /srv and /root) */
  privateDirs?: readonly string[];
}

export type HostsKnobs = Readonly<Required<HostsOptions>>;

export interface HostsFiles {
  configFile: string;
  keyFile: string;
  knownHosts: string;
  authorizedKeys: string;
  list: string;
  upMark: string;
  cmDir: string;
}

export interface Host {
  i: number;
  /** the ssh alias in the client config: h1, h2, ... */
  name: string;
  hostname: string;
  addr: string;
  ns: string;
  veth: string;
  dir: string;
  /** the host's private /srv, seen from this machine */
  srv: string;
  sshdConfig: string;
  hostKey: string;
  log: string;
}

export function hostsKnobs(o: HostsOptions): HostsKnobs;
export function maxHosts(k: HostsKnobs): number;
export function hostsFiles(k: HostsKnobs): HostsFiles;
export function hostAt(k: HostsKnobs, i: number): Host;
export function ownName(prefix: string, name: string): boolean;
export function sshConfigText(k: HostsKnobs, n: number): string;
export function knownHostsLines(h: Host, publicKey: string): string;
export function sshdConfigText(k: HostsKnobs, h: Host): string;
export const LAUNCH_SCRIPT: string;
export function launchArgv(k: HostsKnobs, h: Host): string[];
export const REQUIRED: readonly (readonly [what: string, pkg: string])[];
export function missingPackages(has: (what: string) => boolean): string[];
