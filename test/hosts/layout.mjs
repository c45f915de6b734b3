// The pure half of the namespaced SSH test hosts (test/hosts/hosts.mjs does the I/O): the knobs,
// where each host lives (namespace, address, files), the config text written for the ssh client and
// each sshd, the argv that launches a host, and which packages a machine lacks. Plain .mjs, so the
// TypeScript tests and the node-only benchmarks share it; its types are in layout.d.mts.
import { join } from 'node:path';

const NAME = /^[a-z][a-z0-9-]*$/;

/** The knobs, checked, with defaults; throws on a value that could collide or break a command. */
export function hostsKnobs(o) {
  const k = { base: 10, namePrefix: 'host', privateDirs: ['/srv', '/root'], ...o };
  const bad = (what) => {
    throw new Error(`namespaced hosts: ${what}`);
  };
  // down() removes the state dir: never `/`, a top-level dir, or a path that climbs
  const segments = typeof k.state === 'string' ? k.state.split('/').filter(Boolean) : [];
  if (!k.state?.startsWith('/') || segments.length < 2 || segments.some((s) => s === '.' || s === '..')) {
    bad(`state must be an absolute path at least two levels deep, not ${k.state}`);
  }
  if (!/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.test(k.subnet ?? '') || k.subnet.split('.').some((x) => Number(x) > 255)) bad(`subnet must be a /24 prefix like 10.250.0, not ${k.subnet}`);
  if (!Number.isInteger(k.base) || k.base < 1 || k.base > 253) bad(`base must be 1..253, not ${k.base}`);
  // interface names hold 15 characters: the bridge, and each host's veth `v<nsPrefix><i>`
  if (!NAME.test(k.bridge ?? '') || k.bridge.length > 15) bad(`bridge must be a short interface name, not ${k.bridge}`);
  if (!NAME.test(k.nsPrefix ?? '') || k.nsPrefix.length > 11) bad(`nsPrefix must be a short name (11 characters at most), not ${k.nsPrefix}`);
  if (!NAME.test(k.namePrefix)) bad(`namePrefix must be a host name, not ${k.namePrefix}`);
  if (!Array.isArray(k.privateDirs) || k.privateDirs.some((d) => !/^\/[\w/.-]+$/.test(d) || d.split('/').includes('..'))) {
    bad(`privateDirs must be absolute paths, not ${k.privateDirs}`);
  }
  return Object.freeze({ ...k, privateDirs: Object.freeze([...k.privateDirs]) });
}

/** The most hosts the knobs leave addresses for (host i is `<subnet>.<base + i>`, at most .254). */
export const maxHosts = (k) => 254 - k.base;

/** The files of the whole set (the ssh client's side). */
export function hostsFiles(k) {
  return {
    configFile: join(k.state, 'ssh_config'),
    keyFile: join(k.state, 'id_ed25519'),
    knownHosts: join(k.state, 'known_hosts'),
    authorizedKeys: join(k.state, 'authorized_keys'),
    /** the hosts up, one `<netns> <address>` line each */
    list: join(k.state, 'hosts.list'),
    /** written last by a complete bring-up */
    upMark: join(k.state, '.up'),
    /** the client config's ControlMaster sockets */
    cmDir: join(k.state, 'cm'),
  };
}

/** Host i (1-based): its ssh alias, address, names, and its files seen from this machine. */
export function hostAt(k, i) {
  if (!Number.isInteger(i) || i < 1 || i > maxHosts(k)) throw new Error(`no host ${i}: hosts are 1..${maxHosts(k)}`);
  const dir = join(k.state, `h${i}`);
  return {
    i,
    name: `h${i}`,
    hostname: `${k.namePrefix}${i}`,
    addr: `${k.subnet}.${k.base + i}`,
    ns: `${k.nsPrefix}${i}`,
    veth: `v${k.nsPrefix}${i}`,
    dir,
    /** its private /srv, seen from this machine */
    srv: join(dir, 'fs', 'srv'),
    sshdConfig: join(dir, 'sshd_config'),
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    log: join(dir, 'sshd.log'),
  };
}

/** `^<prefix><digits>$`: the namespaces (and, with a `v`, the veths) that belong to the set. */
export const ownName = (prefix, name) => name.startsWith(prefix) && /^\d+$/.test(name.slice(prefix.length));

/** The client config: every host by address or alias, key login, known hosts pinned, multiplexed. */
export function sshConfigText(k, n) {
  const f = hostsFiles(k);
  const hosts = Array.from({ length: n }, (_, j) => hostAt(k, j + 1));
  return [
    `Host ${k.subnet}.* h*`,
    '  User root',
    `  IdentityFile ${f.keyFile}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${f.knownHosts}`,
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  ConnectTimeout 5',
    '  LogLevel ERROR',
    '  ControlMaster auto',
    `  ControlPath ${f.cmDir}/%C`,
    '  ControlPersist 60',
    ...hosts.flatMap((h) => [`Host ${h.name}`, `  HostName ${h.addr}`, `  HostKeyAlias ${h.name}`]),
    '',
  ].join('\n');
}

/** known_hosts lines for host i: its key under its address and under its alias (the HostKeyAlias). */
export function knownHostsLines(h, publicKey) {
  const key = publicKey.trim().split(/\s+/).slice(0, 2).join(' ');
  return `${h.addr} ${key}\n${h.name} ${key}\n`;
}

/** Host i's sshd: port 22 on its address only, root by key, no PAM, many sessions (parallel deploys). */
export function sshdConfigText(k, h) {
  return [
    'Port 22',
    `ListenAddress ${h.addr}`,
    `HostKey ${h.hostKey}`,
    'PidFile none',
    `AuthorizedKeysFile ${hostsFiles(k).authorizedKeys}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'UseDNS no',
    'MaxSessions 64',
    'MaxStartups 64:30:128',
    'AcceptEnv LANG LC_*',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    'LogLevel ERROR',
    '',
  ].join('\n');
}

/**
 * Inside the new namespaces: name the host, bind each private dir (pairs of arguments), then become
 * sshd. No value is spliced into it: they come as arguments, so nothing needs quoting.
 */
export const LAUNCH_SCRIPT =
  'hostname "$1" || exit 1; config=$2; shift 2; ' +
  'while [ $# -ge 2 ]; do mount --bind "$1" "$2" || exit 1; shift 2; done; ' +
  'exec /usr/sbin/sshd -D -e -f "$config"';

/**
 * The argv that starts host i: in its network namespace, new UTS, mount and PID namespaces (a
 * private /proc; mounts not propagated back), sshd in the foreground as PID 1, so the host lives
 * exactly as long as its sshd and killing that one pid takes down everything started there.
 */
export function launchArgv(k, h) {
  const binds = k.privateDirs.flatMap((d) => [join(h.dir, 'fs', d), d]);
  return [
    'ip', 'netns', 'exec', h.ns,
    'unshare', '--uts', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
    'sh', '-c', LAUNCH_SCRIPT, 'sh', h.hostname, h.sshdConfig, ...binds,
  ];
}

/** What the hosts run, by the Debian package that provides it: `[path or command, package]`. */
export const REQUIRED = Object.freeze([
  ['/usr/sbin/sshd', 'openssh-server'],
  ['ssh', 'openssh-client'],
  ['ssh-keygen', 'openssh-client'],
  ['rsync', 'rsync'],
  ['ip', 'iproute2'],
  ['unshare', 'util-linux'],
]);

/** The packages to install: those providing something `has` does not find, each once. */
export function missingPackages(has) {
  return [...new Set(REQUIRED.filter(([what]) => !has(what)).map(([, pkg]) => pkg))];
}
