import { UsageError } from '../errors.js';
import type { HostEntry } from '../manifest/schema/hosts.js';

/** A host of the manifest, resolved: how to reach it and what it is for. */
export interface HostTarget {
  /** how output names it: `local`, the alias, or `user@host:port` as written */
  name: string;
  local: boolean;
  /** the address or ssh_config alias (remote hosts) */
  host: string;
  user?: string;
  port?: number;
  roles: string[];
  appRoot?: string;
}

/** `local`, `ssh://user@host:port`, `user@host`, `host`, `[v6]:port`, or the object form. */
export function parseHost(entry: HostEntry): HostTarget {
  if (typeof entry === 'object') {
    // a leading `-` would be read as an option by ssh or rsync
    if (entry.host.startsWith('-') || entry.user?.startsWith('-')) throw new UsageError(`host ${entry.host}: not a host name`);
    return {
      // two entries for one address on different ports are two hosts
      name: entry.port ? `${entry.host}:${entry.port}` : entry.host,
      local: entry.host === 'local',
      host: entry.host,
      ...(entry.user ? { user: entry.user } : {}),
      ...(entry.port ? { port: entry.port } : {}),
      roles: entry.roles,
      ...(entry.app_root ? { appRoot: entry.app_root } : {}),
    };
  }
  if (entry === 'local') return { name: 'local', local: true, host: 'local', roles: [] };
  const rest = entry.startsWith('ssh://') ? entry.slice('ssh://'.length) : entry;
  const at = rest.lastIndexOf('@');
  const user = at >= 0 ? rest.slice(0, at) : undefined;
  let hostPort = at >= 0 ? rest.slice(at + 1) : rest;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(hostPort);
  if (v6) {
    hostPort = v6[1]!;
    if (v6[2]) port = Number(v6[2]);
  } else if (entry.startsWith('ssh://') || /^[^:]+:\d+$/.test(hostPort)) {
    const m = /^([^:]+)(?::(\d+))?$/.exec(hostPort);
    if (!m) throw new UsageError(`host ${entry}: expected ssh://user@host:port`);
    hostPort = m[1]!;
    if (m[2]) port = Number(m[2]);
  }
  if (port !== undefined && (port < 1 || port > 65535)) throw new UsageError(`host ${entry}: port ${port} is out of range`);
  if (!hostPort || hostPort.startsWith('-') || hostPort.endsWith(':') || (user !== undefined && (!user || user.startsWith('-')))) throw new UsageError(`host ${entry}: not a host name`);
  return { name: entry, local: false, host: hostPort, ...(user ? { user } : {}), ...(port ? { port } : {}), roles: [] };
}

export interface HostFilter {
  /** names (as written in the manifest, or the bare host) */
  hosts?: string[];
  roles?: string[];
}

/** `--hosts a,b` and `--roles web` as a filter (comma-separated lists). */
export function hostFilter(hosts?: string, roles?: string): HostFilter {
  const list = (v: string) => v.split(',').map((x) => x.trim()).filter(Boolean);
  return { ...(hosts ? { hosts: list(hosts) } : {}), ...(roles ? { roles: list(roles) } : {}) };
}

/**
 * The manifest's hosts narrowed by `--hosts` and `--roles`. A name or role that matches nothing
 * is an error naming it, so a typo never deploys to fewer hosts than meant without a word.
 */
export function selectHosts(entries: readonly HostEntry[], filter: HostFilter = {}): HostTarget[] {
  const all = entries.map(parseHost);
  const seen = new Set<string>();
  for (const t of all) {
    if (seen.has(t.name)) throw new UsageError(`hosts: ${t.name} is listed twice`);
    seen.add(t.name);
  }
  let picked = all;
  if (filter.hosts?.length) {
    const unknown = filter.hosts.filter((h) => !all.some((t) => t.name === h || t.host === h));
    if (unknown.length) throw new UsageError(`--hosts: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the manifest's hosts (${all.map((t) => t.name).join(', ')})`);
    picked = picked.filter((t) => filter.hosts!.includes(t.name) || filter.hosts!.includes(t.host));
  }
  if (filter.roles?.length) {
    const known = new Set(all.flatMap((t) => t.roles));
    const unknown = filter.roles.filter((r) => !known.has(r));
    if (unknown.length) throw new UsageError(`--roles: no host has the role ${unknown.join(', ')}${known.size ? ` (roles: ${[...known].join(', ')})` : ''}`);
    picked = picked.filter((t) => t.roles.some((r) => filter.roles!.includes(r)));
  }
  if (picked.length === 0) throw new UsageError('--hosts/--roles: no host matches both');
  return picked;
}

/** True when the operation needs the fleet driver: a remote host, or more than one host. */
export function isFleet(targets: readonly HostTarget[]): boolean {
  return targets.length > 1 || targets.some((t) => !t.local);
}
