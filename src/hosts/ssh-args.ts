import type { SshConfig } from '../manifest/schema/hosts.js';
import { shellJoin } from './shell-quote.js';
import type { HostTarget } from './targets.js';

/** What every ssh invocation to a host shares: the manifest's settings and the multiplexing socket. */
export interface SshSettings {
  config: SshConfig;
  /** directory of the ControlMaster sockets (short: a unix socket path has ~100 bytes) */
  controlDir: string;
  /** how long an idle master connection stays open after the last command */
  persistSeconds?: number;
}

function optionValue(v: string | number | boolean): string {
  return typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v);
}

/**
 * ssh's options for a host, before the destination. The manifest's `options` come first: for
 * ssh the first value given wins, so they override Deployer's defaults, and the command line
 * overrides ssh_config (`config_file`, ~/.ssh/config) where both set a key.
 */
export function sshOptions(t: HostTarget, s: SshSettings): string[] {
  const c = s.config;
  const argv: string[] = [];
  if (c.config_file) argv.push('-F', c.config_file);
  for (const [k, v] of Object.entries(c.options ?? {})) argv.push('-o', `${k}=${optionValue(v)}`);
  argv.push(
    '-o', 'BatchMode=yes',
    '-o', `ConnectTimeout=${Math.max(1, Math.ceil(c.connect_timeout / 1000))}`,
    '-o', 'ServerAliveInterval=5',
    '-o', 'ServerAliveCountMax=3',
    '-o', 'ControlMaster=auto',
    '-o', `ControlPath=${s.controlDir}/%C`,
    '-o', `ControlPersist=${s.persistSeconds ?? 60}`,
  );
  // -p only when asked for: a Port in ssh_config must not be overridden by the schema's default
  const port = t.port ?? (c.port !== 22 ? c.port : undefined);
  if (port !== undefined) argv.push('-p', String(port));
  const user = t.user ?? c.user;
  if (user) argv.push('-l', user);
  if (c.identity_file) argv.push('-i', c.identity_file);
  if (c.proxy_jump) argv.push('-J', c.proxy_jump);
  return argv;
}

/** `ssh <options> -- <host> '<remote argv, quoted>'`: the remote command never meets a shell unquoted. */
export function sshCommand(t: HostTarget, s: SshSettings, remote: readonly string[]): string[] {
  return ['ssh', ...sshOptions(t, s), '--', t.host, shellJoin(remote)];
}

/** Closes the host's master connection (`ssh -O exit`). */
export function sshExitMaster(t: HostTarget, s: SshSettings): string[] {
  return ['ssh', ...sshOptions(t, s), '-O', 'exit', '--', t.host];
}

/**
 * rsync splits its `--rsh` command itself, not through a shell: it knows single quotes with a
 * doubled `''` standing for one quote inside them, and no backslashes.
 */
export function rshJoin(argv: readonly string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "''")}'`)).join(' ');
}

/**
 * rsync of a local tree to a directory on the host over the same multiplexed connection.
 * `--link-dest` hard-links files unchanged since the host's previous release, so they cost
 * neither transfer nor disk. `--protect-args` keeps the remote path away from the remote
 * shell on any rsync version (3.2.4+ quote it anyway).
 */
export function rsyncCommand(t: HostTarget, s: SshSettings, from: string, to: string, linkDest: string | null): string[] {
  return [
    'rsync',
    '--archive',
    '--delete',
    '--protect-args',
    ...(linkDest ? [`--link-dest=${linkDest}`] : []),
    '--rsh',
    rshJoin(['ssh', ...sshOptions(t, s)]),
    `${from.replace(/\/+$/, '')}/`,
    `${t.host.includes(':') ? `[${t.host}]` : t.host}:${to.replace(/\/+$/, '')}/`,
  ];
}
