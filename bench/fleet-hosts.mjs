// Bench hosts for the fleet benchmark: N real sshd hosts in network namespaces, brought up by
// ../shared/hosts/hosts-up.sh with knobs of their own (state dir, subnet, bridge, namespace prefix)
// so they never collide with the test suite's hosts (/tmp/deployer-test-hosts, 10.250.0.x, dtbr0, dt-h*).
// Needs root. Everything here touches only those namespaces and the processes started in them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, readdirSync, writeFileSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOSTS_DIR = fileURLToPath(new URL('../../shared/hosts/', import.meta.url));

export const BENCH_HOSTS = Object.freeze({
  state: '/tmp/dt-bench',
  subnet: '10.251.0',
  bridge: 'dtbench0',
  nsPrefix: 'dt-b',
  base: 10,
  namePrefix: 'host',
  privateDirs: ['/srv', '/root'],
});

const K = BENCH_HOSTS;
const knobs = () => ({
  HOSTS_STATE: K.state,
  HOSTS_SUBNET: K.subnet,
  HOSTS_BRIDGE: K.bridge,
  HOSTS_NS_PREFIX: K.nsPrefix,
  HOSTS_BASE: String(K.base),
  HOSTS_NAME_PREFIX: K.namePrefix,
  HOSTS_PRIVATE_DIRS: K.privateDirs.join(' '),
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const addrOf = (i) => `${K.subnet}.${K.base + i}`;
const srvOf = (i) => join(K.state, `h${i}`, 'fs', 'srv');

function describe(n) {
  const idx = Array.from({ length: n }, (_, k) => k + 1);
  return {
    n,
    state: K.state,
    configFile: join(K.state, 'ssh_config'),
    keyFile: join(K.state, 'id_ed25519'),
    knownHosts: join(K.state, 'known_hosts'),
    names: idx.map((i) => `h${i}`),
    addrs: idx.map(addrOf),
    addr: addrOf,
    srv: srvOf,
  };
}

/**
 * Brings up n bench hosts (tears down a previous bench run first, as hosts-up.sh does).
 * Returns { n, state, configFile, keyFile, knownHosts, names: ['h1'..], addrs: ['10.251.0.11'..],
 * addr(i), srv(i) } where srv(i) is host i's private /srv seen from this machine.
 */
export async function hostsUp(n) {
  if (!Number.isInteger(n) || n < 1 || n > 200) throw new Error(`hostsUp: bad host count ${n}`);
  const r = spawnSync('bash', [join(HOSTS_DIR, 'hosts-up.sh'), String(n)], {
    env: { ...process.env, ...knobs() },
    encoding: 'utf8',
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`hosts-up.sh ${n} failed (${r.status ?? r.signal}):\n${r.stderr}`);
  return describe(n);
}

/** Tears the bench hosts down (namespaces, bridge, state dir). Safe to call when none are up. */
export async function hostsDown() {
  const r = spawnSync('bash', [join(HOSTS_DIR, 'hosts-down.sh')], {
    env: { ...process.env, ...knobs() },
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.status !== 0) throw new Error(`hosts-down.sh failed (${r.status ?? r.signal}):\n${r.stderr}`);
}

/** The hosts as they are now (after hostsUp in this or another process). */
export function currentHosts() {
  const list = join(K.state, 'hosts.list');
  if (!existsSync(list)) throw new Error('bench hosts are not up');
  const n = readFileSync(list, 'utf8').split('\n').filter(Boolean).length;
  return describe(n);
}

function procStatus(pid) {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

/** Innermost pid of `pid` in its own pid namespace (last NSpid field), or null. */
function nsPid(pid) {
  const st = procStatus(pid);
  const m = st && /^NSpid:\s*(.*)$/m.exec(st);
  if (!m) return null;
  const f = m[1].trim().split(/\s+/);
  return Number(f[f.length - 1]);
}

function childrenOf(pid) {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Host i's sshd: PID 1 of that host's pid namespace (the child of the launcher recorded in
 * launcher.pid; falls back to `ip netns pids`). Returns the machine-side pid or null when down.
 */
export function hostSshdPid(i) {
  const isInit = (pid) => {
    const st = procStatus(pid);
    return !!st && /^Name:\s*sshd\b/m.test(st) && nsPid(pid) === 1;
  };
  const lf = join(K.state, `h${i}`, 'launcher.pid');
  if (existsSync(lf)) {
    const launcher = Number(readFileSync(lf, 'utf8').trim());
    if (launcher > 1) for (const c of childrenOf(launcher)) if (isInit(c)) return c;
  }
  const r = spawnSync('ip', ['netns', 'pids', `${K.nsPrefix}${i}`], { encoding: 'utf8' });
  if (r.status === 0) for (const p of r.stdout.split('\n').filter(Boolean).map(Number)) if (isInit(p)) return p;
  return null;
}

/**
 * Kills host i's namespace PID 1 (its sshd) with SIGKILL: the kernel then kills every process in
 * that host's pid namespace, like a host dying. Only that pid is signalled. Resolves once it is gone
 * (at most 5 s); returns the pid killed.
 */
export async function killHostSshd(i) {
  const pid = hostSshdPid(i);
  if (!pid) throw new Error(`host ${i}: no sshd found`);
  process.kill(pid, 'SIGKILL');
  for (let k = 0; k < 100 && procStatus(pid); k++) await sleep(50);
  return pid;
}

/** Can we open a fresh (non-multiplexed) ssh session to host i? */
function sshOk(i) {
  const r = spawnSync(
    'ssh',
    ['-F', join(K.state, 'ssh_config'), '-o', 'ControlMaster=no', '-o', 'ControlPath=none', '-o', 'ConnectTimeout=2', addrOf(i), 'true'],
    { stdio: 'ignore', timeout: 5_000 },
  );
  return r.status === 0;
}

/**
 * Relaunches host i's sshd in its existing network namespace the way hosts-up.sh does (own UTS,
 * mount and pid namespaces, private /srv and /root bound from the state dir). No-op when its sshd
 * is alive. Resolves when ssh answers (at most 10 s).
 */
export async function reviveHost(i) {
  if (hostSshdPid(i)) return;
  const dir = join(K.state, `h${i}`);
  const ns = `${K.nsPrefix}${i}`;
  if (!existsSync(`/var/run/netns/${ns}`)) throw new Error(`host ${i}: namespace ${ns} is gone`);
  const binds = K.privateDirs.map((d) => `mount --bind '${dir}/fs${d}' '${d}'; `).join('');
  const out = openSync(join(dir, 'sshd.log'), 'a');
  // detached: node calls setsid() for the child, like `setsid` in hosts-up.sh; the recorded pid is
  // the launcher (ip -> unshare), whose child is the new namespace's PID 1.
  const child = spawn(
    'ip',
    ['netns', 'exec', ns, 'unshare', '--uts', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
      'sh', '-c', `hostname '${K.namePrefix}${i}'; ${binds}exec /usr/sbin/sshd -D -e -f '${dir}/sshd_config'`],
    { detached: true, stdio: ['ignore', out, out] },
  );
  child.unref();
  closeSync(out);
  writeFileSync(join(dir, 'launcher.pid'), `${child.pid}\n`);
  for (let k = 0; k < 100; k++) {
    if (sshOk(i)) return;
    await sleep(100);
  }
  throw new Error(`host ${i}: sshd did not come back; see ${dir}/sshd.log`);
}

/** Closes ssh ControlMaster connections whose sockets are in `dir` (default: the harness's cm/). */
export function closeMasters(dir = join(K.state, 'cm')) {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) {
    spawnSync('ssh', ['-o', `ControlPath=${join(dir, f)}`, '-O', 'exit', 'dummy'], { stdio: 'ignore', timeout: 5_000 });
  }
}
