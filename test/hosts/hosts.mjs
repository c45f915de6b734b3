// Namespaced SSH test hosts: N "machines" on this one, each a network namespace on a bridge with its
// own address, hostname, PID namespace (its sshd is PID 1), private /srv and /root, and its own sshd
// with its own host key. The tests (test/support/ssh-hosts.ts) and the fleet benchmark
// (bench/fleet-hosts.mjs) each use a set with knobs of their own. Needs root; installs what it
// lacks with apt-get. Touches only its own namespaces, interfaces, state dir and the processes in
// those namespaces (by pid). The pure half (knobs, addresses, config text, argv) is layout.mjs.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { hostAt, hostsFiles, hostsKnobs, knownHostsLines, launchArgv, maxHosts, missingPackages, ownName, sshConfigText, sshdConfigText } from './layout.mjs';
import { comm, isNamespaceInit, netnsPids, pollUntil, probePort, run, signal, succeeds } from './procs.mjs';

const PATH = process.env.PATH || '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const UP_MS = 30_000;
const REVIVE_MS = 15_000;
const KILL_MS = 10_000;
const EMPTY_MS = 5_000;

/** The set of hosts these knobs describe (see layout.mjs's hostsKnobs): nothing happens until a method runs. */
export function namespacedHosts(options) {
  const k = hostsKnobs(options);
  const files = hostsFiles(k);
  return {
    knobs: k,
    files,
    host: (i) => hostAt(k, i),
    up: (n) => up(k, n),
    down: () => down(k),
    current: () => current(k),
    sshdPid: (i) => sshdPid(k, i),
    kill: (i) => kill(k, i),
    revive: (i) => revive(k, i),
    cutSessions: (i) => cutSessions(k, i),
    closeMasters: (dir = files.cmDir) => closeMasters(dir),
  };
}

function needRoot(what) {
  if (process.getuid?.() !== 0) throw new Error(`the namespaced SSH hosts need root to ${what}`);
}

/** The hosts up now (by this process or another), or a clear error when they are not. */
function current(k) {
  const f = hostsFiles(k);
  const lines = existsSync(f.list) ? readFileSync(f.list, 'utf8').split('\n').filter((l) => l.trim()) : [];
  if (!existsSync(f.upMark) || !existsSync(f.configFile) || lines.length === 0) {
    throw new Error(`the namespaced SSH hosts under ${k.state} are not up (${f.upMark}${existsSync(f.upMark) ? ` exists, ${lines.length} hosts listed` : ' is missing'})`);
  }
  return { state: k.state, ...f, hosts: lines.map((_, j) => hostAt(k, j + 1)) };
}

function onPath(cmd) {
  return cmd.startsWith('/') ? existsSync(cmd) : PATH.split(delimiter).some((d) => d && existsSync(join(d, cmd)));
}

/** apt-get installs the packages providing what the hosts run, when something is missing. */
function installMissing() {
  const missing = missingPackages(onPath);
  if (missing.length === 0) return;
  if (!onPath('apt-get')) throw new Error(`the namespaced SSH hosts need ${missing.join(', ')}, and there is no apt-get to install them`);
  console.error(`[hosts] installing ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env, timeout: 600_000 });
  try {
    install();
  } catch {
    run('apt-get', ['update', '-qq'], { env, timeout: 600_000 }); // a fresh machine has no package lists yet
    install();
  }
}

/**
 * Brings hosts 1..n up, after taking down a previous set with the same knobs, and resolves once
 * each answers ssh. On failure it takes down what it made and throws with the sshd logs.
 */
async function up(k, n) {
  needRoot('bring hosts up');
  if (!Number.isInteger(n) || n < 1 || n > maxHosts(k)) throw new Error(`bad host count ${n}: 1..${maxHosts(k)} with base ${k.base}`);
  installMissing();
  await down(k);
  try {
    await build(k, n);
  } catch (e) {
    await down(k).catch(() => {}); // the first error is the one to see
    throw e;
  }
  const f = hostsFiles(k);
  writeFileSync(f.upMark, '');
  console.error(`[hosts] up: ${n} hosts, ${hostAt(k, 1).addr}..${hostAt(k, n).addr}; ssh -F ${f.configFile} h1`);
  return current(k);
}

/** up()'s work on a clean slate: keys, bridge, each host's files, network and sshd; then the wait for each. */
async function build(k, n) {
  const f = hostsFiles(k);
  mkdirSync(f.cmDir, { recursive: true });
  chmodSync(k.state, 0o700);
  chmodSync(f.cmDir, 0o700);
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege separation directory
  chmodSync('/run/sshd', 0o755);
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'deploy-test', '-f', f.keyFile]);
  copyFileSync(`${f.keyFile}.pub`, f.authorizedKeys);
  chmodSync(f.authorizedKeys, 0o600);
  run('ip', ['link', 'add', k.bridge, 'type', 'bridge']);
  run('ip', ['addr', 'add', `${k.subnet}.1/24`, 'dev', k.bridge]);
  run('ip', ['link', 'set', k.bridge, 'up']);
  const hosts = Array.from({ length: n }, (_, j) => hostAt(k, j + 1));
  let known = '';
  for (const h of hosts) {
    mkdirSync(h.dir, { recursive: true });
    run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', h.hostname, '-f', h.hostKey]);
    known += knownHostsLines(h, readFileSync(`${h.hostKey}.pub`, 'utf8'));
    writeFileSync(h.sshdConfig, sshdConfigText(k, h));
    network(k, h);
    for (const d of k.privateDirs) {
      mkdirSync(join(h.dir, 'fs', d), { recursive: true });
      if (d === '/root') chmodSync(join(h.dir, 'fs', d), 0o700); // ssh refuses keys in an open home
      mkdirSync(d, { recursive: true }); // the mount point, on this machine
    }
    launch(k, h);
  }
  writeFileSync(f.knownHosts, known);
  writeFileSync(f.configFile, sshConfigText(k, n));
  writeFileSync(f.list, hosts.map((h) => `${h.ns} ${h.addr}\n`).join(''));
  await Promise.all(hosts.map((h) => answering(k, h, UP_MS)));
}

/** Host h's namespace, wired to the bridge by a veth pair, with its address and a default route. */
function network(k, h) {
  run('ip', ['netns', 'add', h.ns]);
  run('ip', ['link', 'add', h.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns]);
  run('ip', ['link', 'set', h.veth, 'master', k.bridge, 'up']);
  run('ip', ['-n', h.ns, 'link', 'set', 'lo', 'up']);
  run('ip', ['-n', h.ns, 'addr', 'add', `${h.addr}/24`, 'dev', 'eth0']);
  run('ip', ['-n', h.ns, 'link', 'set', 'eth0', 'up']);
  run('ip', ['-n', h.ns, 'route', 'add', 'default', 'via', `${k.subnet}.1`]);
}

/** Starts host h's sshd (launchArgv), detached in a session of its own, logging to its sshd.log. */
function launch(k, h) {
  const [cmd, ...args] = launchArgv(k, h);
  const log = openSync(h.log, 'a');
  try {
    // a bare environment: the host's sessions must not inherit this test run's
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', log, log], env: { PATH } });
    child.on('error', () => {}); // reported by the wait for ssh (with the log)
    child.unref();
  } finally {
    closeSync(log);
  }
}

/** Resolves once a fresh (not multiplexed) ssh session to h works; throws with its sshd.log otherwise. */
async function answering(k, h, timeoutMs) {
  const args = ['-F', hostsFiles(k).configFile, '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'ConnectTimeout=2', h.addr, 'true'];
  try {
    await pollUntil(() => succeeds('ssh', args, 5_000), () => `ssh to host ${h.i} (${h.addr})`, timeoutMs, 50);
  } catch (e) {
    const log = existsSync(h.log) ? readFileSync(h.log, 'utf8').slice(-2000) : '(no log)';
    throw new Error(`${e.message}; its sshd.log ends with:\n${log}`, { cause: e });
  }
}

/** Takes the set down: its ssh masters closed, its processes killed, namespaces, veths, bridge and state dir gone. */
async function down(k) {
  needRoot('take hosts down');
  const f = hostsFiles(k);
  closeMasters(f.cmDir);
  const listed = existsSync(f.list) ? readFileSync(f.list, 'utf8').split('\n').map((l) => l.split(' ')[0]) : [];
  const present = run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]);
  for (const ns of new Set([...listed, ...present].filter((x) => x && ownName(k.nsPrefix, x)))) {
    if (!existsSync(`/run/netns/${ns}`)) continue;
    await emptyNamespace(ns);
    run('ip', ['netns', 'del', ns]); // its end of each veth pair goes with it, and so the other end
  }
  const links = run('ip', ['-o', 'link', 'show']).split('\n').map((l) => l.split(': ')[1]?.split('@')[0] ?? '');
  for (const l of links) if (ownName(`v${k.nsPrefix}`, l) || l === k.bridge) deleteLink(l);
  rmSync(k.state, { recursive: true, force: true });
}

/**
 * Deletes link l. A veth whose other end was in a namespace just deleted goes away with it, but
 * the kernel does that a moment later: gone meanwhile is fine.
 */
function deleteLink(l) {
  try {
    run('ip', ['link', 'del', l]);
  } catch (e) {
    if (!/Cannot find device/.test(e.message)) throw e;
  }
}

/** SIGTERM, then SIGKILL, every process in network namespace ns, each by pid, until none is left. */
async function emptyNamespace(ns) {
  for (const sig of ['SIGTERM', 'SIGKILL']) {
    const pids = netnsPids(ns);
    if (pids.length === 0) return;
    for (const p of pids) signal(p, sig);
    try {
      await pollUntil(() => netnsPids(ns).length === 0, () => `the processes of ${ns} to exit on ${sig}`, sig === 'SIGKILL' ? EMPTY_MS : 2_000);
      return;
    } catch (e) {
      if (sig === 'SIGKILL') throw e;
    }
  }
}

/** Host i's sshd: the process in its network namespace that is PID 1 of a PID namespace; undefined when down. */
function sshdPid(k, i) {
  const h = hostAt(k, i);
  const inits = netnsPids(h.ns).filter((p) => comm(p) === 'sshd' && isNamespaceInit(p));
  if (inits.length > 1) throw new Error(`host ${i} has several sshd processes as PID 1: ${inits.join(', ')}`);
  return inits[0];
}

/**
 * Kills host i's sshd with SIGKILL: PID 1 of its PID namespace, so the kernel kills everything on
 * that host (sessions, apps), as if it died. Its network namespace and files stay. Resolves with
 * the pid once port 22 of its address refuses connections.
 */
async function kill(k, i) {
  needRoot('kill a host');
  const h = hostAt(k, i);
  const pid = sshdPid(k, i);
  if (pid === undefined) throw new Error(`host ${i}'s sshd is not running (nothing is PID 1 in netns ${h.ns})`);
  process.kill(pid, 'SIGKILL');
  let last = '';
  await pollUntil(async () => (last = await probePort(h.addr, 22)) === 'refused', () => `port 22 of host ${i} (${h.addr}) to refuse connections after killing pid ${pid} (last probe: ${last})`, KILL_MS);
  return pid;
}

/** Relaunches host i's sshd in its namespace as up() does, unless it runs; resolves once ssh to it works. */
async function revive(k, i) {
  needRoot('revive a host');
  const h = hostAt(k, i);
  if (!existsSync(`/run/netns/${h.ns}`)) throw new Error(`host ${i}: its network namespace ${h.ns} is gone`);
  if (sshdPid(k, i) === undefined) launch(k, h);
  await answering(k, h, REVIVE_MS);
}

/**
 * Cuts every ssh session to host i (SIGKILLs its sshd session processes, not the listening sshd):
 * a network partition as the host sees it. Returns how many were cut.
 */
function cutSessions(k, i) {
  const h = hostAt(k, i);
  let cut = 0;
  for (const p of netnsPids(h.ns)) if (comm(p)?.startsWith('sshd') && !isNamespaceInit(p) && signal(p, 'SIGKILL')) cut++;
  return cut;
}

/** Closes the ssh ControlMaster connections whose sockets are in dir. */
function closeMasters(dir) {
  if (!existsSync(dir)) return;
  for (const s of readdirSync(dir)) spawnSync('ssh', ['-o', `ControlPath=${join(dir, s)}`, '-O', 'exit', 'dummy'], { stdio: 'ignore', timeout: 5_000 });
}
