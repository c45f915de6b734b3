// Real SSH hosts for integration tests: network namespaces with their own sshd, brought up once
// per `vitest run` by test/global-setup.ts with ../shared/hosts/hosts-up.sh (root only).
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { shellQuote } from '../../src/hosts/shell-quote.js';
import { ROOT } from './cli.js';

// The suite's own knobs, so its hosts never collide with anyone else's (hosts-up.sh defaults).
export const HOSTS_STATE = '/tmp/dt-hosts';
export const HOSTS_SUBNET = '10.250.0';
export const HOSTS_BRIDGE = 'dttest0';
export const HOSTS_NS_PREFIX = 'dt-t';
/** set explicitly (they are hosts-up.sh's defaults) so `reviveHost` relaunches a host exactly alike */
export const HOSTS_NAME_PREFIX = 'host';
export const HOSTS_PRIVATE_DIRS = ['/srv', '/root'] as const;
/** host i is `${HOSTS_SUBNET}.${HOSTS_BASE + i}` */
export const HOSTS_BASE = 10;
export const TEST_HOSTS = 6;
/** ../shared/hosts beside the repository (as in CI) */
export const HOSTS_SCRIPTS = resolve(ROOT, '..', 'shared', 'hosts');

/** The environment hosts-up.sh / hosts-down.sh get: every knob, explicitly. */
export function hostsEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOSTS_STATE,
    HOSTS_SUBNET,
    HOSTS_BASE: String(HOSTS_BASE),
    HOSTS_BRIDGE,
    HOSTS_NS_PREFIX,
    HOSTS_NAME_PREFIX,
    HOSTS_PRIVATE_DIRS: HOSTS_PRIVATE_DIRS.join(' '),
  };
}

export interface TestHost {
  /** ssh alias in the client config: h1, h2, ... */
  name: string;
  addr: string;
  /** that host's private /srv, seen from this machine */
  srv: string;
}

export interface TestHosts {
  state: string;
  /** `ssh -F` this */
  configFile: string;
  knownHosts: string;
  /** private key the hosts accept for root */
  key: string;
  hosts: TestHost[];
}

const hostName = (i: number) => `h${i}`;
const hostAddr = (i: number) => `${HOSTS_SUBNET}.${HOSTS_BASE + i}`;
const netns = (i: number) => `${HOSTS_NS_PREFIX}${i}`;

function checkIndex(i: number): void {
  if (!Number.isInteger(i) || i < 1 || i > TEST_HOSTS) throw new Error(`no test host ${i}: hosts are 1..${TEST_HOSTS}`);
}

/** The suite's hosts; throws a clear error when they are not up. */
export function testHosts(): TestHosts {
  const configFile = `${HOSTS_STATE}/ssh_config`;
  const list = `${HOSTS_STATE}/hosts.list`;
  const up = existsSync(`${HOSTS_STATE}/.up`) && existsSync(configFile) && existsSync(list);
  const listed = up ? readFileSync(list, 'utf8').split('\n').filter((l) => l.trim()).length : 0;
  if (listed < TEST_HOSTS) {
    const why = up ? `only ${listed} of ${TEST_HOSTS} hosts are listed in ${list}` : `${HOSTS_STATE}/.up is missing`;
    throw new Error(
      `the test SSH hosts are not up (${why}). test/global-setup.ts brings them up with ` +
        `${HOSTS_SCRIPTS}/hosts-up.sh ${TEST_HOSTS} when the suite runs as root` +
        `${process.getuid?.() === 0 ? '' : ' (it is not running as root)'}; it needs ../shared/hosts beside the repository.`,
    );
  }
  const hosts: TestHost[] = [];
  for (let i = 1; i <= TEST_HOSTS; i++) hosts.push({ name: hostName(i), addr: hostAddr(i), srv: `${HOSTS_STATE}/h${i}/fs/srv` });
  return { state: HOSTS_STATE, configFile, knownHosts: `${HOSTS_STATE}/known_hosts`, key: `${HOSTS_STATE}/id_ed25519`, hosts };
}

export interface SshResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface SshRunOptions {
  /** extra ssh arguments before the host, e.g. ['-o', 'UserKnownHostsFile=/x'] */
  sshArgs?: string[];
  /** written to the remote command's stdin (otherwise stdin is empty) */
  input?: string | Buffer;
  /** SIGKILL ssh after this long (default 30 s) */
  timeoutMs?: number;
}

/**
 * `ssh -F <config> [sshArgs] <host> <command>`: OpenSSH hands `command` as one string to the
 * remote login shell. Output is decoded as UTF-8 once complete (never split inside a character).
 */
export function sshRun(host: string | TestHost, command: string, o: SshRunOptions = {}): Promise<SshResult> {
  const { configFile } = testHosts();
  const name = typeof host === 'string' ? host : host.name;
  return new Promise((resolvePromise, reject) => {
    const child = spawn('ssh', ['-F', configFile, ...(o.sshArgs ?? []), name, command], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => {}); // the remote command may not read its stdin
    child.stdin.end(o.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
  });
}

/** Polls `check` until it returns true, or throws after the deadline. */
async function pollUntil(check: () => Promise<boolean> | boolean, what: string, timeoutMs: number, everyMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How a TCP connect to addr:port ends: 'open', 'refused', or another error code. */
function probePort(addr: string, port: number, timeoutMs = 1000): Promise<string> {
  return new Promise((resolvePromise) => {
    const s = connect({ host: addr, port });
    const done = (what: string) => {
      s.destroy();
      resolvePromise(what);
    };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.once('connect', () => done('open'));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? e.message)));
  });
}

/** /proc/<pid>/status's NSpid: the pid in each nested PID namespace, outermost first. */
function nsPids(pid: number): number[] | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('NSpid:'));
    return line?.slice('NSpid:'.length).trim().split(/\s+/).map(Number);
  } catch {
    return undefined; // gone meanwhile
  }
}

function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/**
 * The pid (as this machine sees it) of host i's sshd: the process in its network namespace that
 * is PID 1 of a PID namespace of its own. Undefined when that sshd is not running.
 */
export function sshdPid(i: number): number | undefined {
  checkIndex(i);
  let pids: number[];
  try {
    pids = execFileSync('ip', ['netns', 'pids', netns(i)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
      .split('\n')
      .filter((l) => l.trim())
      .map(Number);
  } catch (e) {
    throw new Error(`cannot list the processes of host ${i} (netns ${netns(i)}): ${(e as Error).message}`, { cause: e });
  }
  const inits = pids.filter((p) => {
    const ns = nsPids(p);
    return ns !== undefined && ns.length > 1 && ns.at(-1) === 1 && comm(p) === 'sshd';
  });
  if (inits.length > 1) throw new Error(`host ${i} has several sshd processes as PID 1: ${inits.join(', ')}`);
  return inits[0];
}

/**
 * Cuts every ssh session to host i (kills its sshd session processes, not the listening sshd):
 * a network partition as the host sees it. The host and what runs there stay up; a process the
 * session started loses its stdin/stdout. Returns how many sessions were cut.
 */
export function cutSessions(i: number): number {
  checkIndex(i);
  const pids = execFileSync('ip', ['netns', 'pids', netns(i)], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.trim())
    .map(Number);
  let cut = 0;
  for (const p of pids) {
    const ns = nsPids(p);
    if (comm(p) !== 'sshd' || ns?.at(-1) === 1) continue;
    try {
      process.kill(p, 'SIGKILL');
      cut++;
    } catch {
      // gone already
    }
  }
  return cut;
}

/**
 * Kills host i's sshd, PID 1 of its PID namespace, with SIGKILL: the kernel then kills every
 * process on that host (sessions, apps started there), as if the host died. The network
 * namespace and the host's files stay. Resolves once port 22 of its address refuses connections.
 */
export async function killSshd(i: number): Promise<void> {
  checkIndex(i);
  testHosts();
  const pid = sshdPid(i);
  if (pid === undefined) throw new Error(`host ${i}'s sshd is not running (nothing is PID 1 in netns ${netns(i)})`);
  process.kill(pid, 'SIGKILL');
  const addr = hostAddr(i);
  let last = '';
  await pollUntil(
    async () => (last = await probePort(addr, 22)) === 'refused',
    `port 22 of host ${i} (${addr}) to refuse connections after killing pid ${pid} (last probe: ${last})`,
    10_000,
  );
}

/** `ssh -F config hN true` succeeds. */
async function sshWorks(i: number): Promise<boolean> {
  const r = await sshRun(hostName(i), 'true', { timeoutMs: 10_000 });
  return r.code === 0;
}

/**
 * Relaunches host i's sshd in its existing namespaces exactly as hosts-up.sh does (own UTS, mount
 * and PID namespaces, private dirs bound, sshd as PID 1), detached, and resolves once
 * `ssh -F config hN true` works. Does nothing but that check when the sshd is running. Tests
 * that kill a host call it in afterAll/finally, so later tests find every host alive.
 */
export async function reviveHost(i: number): Promise<void> {
  checkIndex(i);
  testHosts();
  if (sshdPid(i) === undefined) {
    const dir = `${HOSTS_STATE}/h${i}`;
    const binds = HOSTS_PRIVATE_DIRS.map((d) => `mount --bind ${shellQuote(`${dir}/fs${d}`)} ${shellQuote(d)}; `).join('');
    const script = `hostname ${shellQuote(`${HOSTS_NAME_PREFIX}${i}`)}; ${binds}exec /usr/sbin/sshd -D -e -f ${shellQuote(`${dir}/sshd_config`)}`;
    const log = openSync(`${dir}/sshd.log`, 'a');
    try {
      // detached: a session of its own, as hosts-up.sh's `setsid`
      const child = spawn(
        'ip',
        ['netns', 'exec', netns(i), 'unshare', '--uts', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private', 'sh', '-c', script],
        { detached: true, stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' } },
      );
      child.on('error', () => {}); // reported by the poll below (with the log)
      child.unref();
      if (child.pid !== undefined) writeFileSync(`${dir}/launcher.pid`, `${child.pid}\n`);
    } finally {
      closeSync(log);
    }
  }
  try {
    await pollUntil(() => sshWorks(i), `ssh to host ${i} (${hostAddr(i)})`, 15_000, 50);
  } catch (e) {
    const log = existsSync(`${HOSTS_STATE}/h${i}/sshd.log`) ? readFileSync(`${HOSTS_STATE}/h${i}/sshd.log`, 'utf8').slice(-2000) : '';
    throw new Error(`${(e as Error).message}; sshd.log ends with:\n${log}`, { cause: e });
  }
}

/**
 * A copy of known_hosts (in a new temp dir) where `host`'s key, on both its alias line and its
 * address line, is another freshly generated ed25519 key: point UserKnownHostsFile at it to
 * simulate a changed host key, with `-o ControlPath=none` too: a live ControlMaster connection to
 * the host would otherwise carry the session without any host key check. Returns the file's path.
 */
export function knownHostsWithWrongKey(host: string): string {
  const t = testHosts();
  const h = t.hosts.find((x) => x.name === host || x.addr === host);
  if (!h) throw new Error(`no test host ${host}`);
  const dir = mkdtempSync(join(tmpdir(), 'dt-known-hosts-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'wrong-key', '-f', join(dir, 'wrong_key')], { stdio: 'ignore' });
  const wrong = readFileSync(join(dir, 'wrong_key.pub'), 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
  let replaced = 0;
  const lines = readFileSync(t.knownHosts, 'utf8')
    .split('\n')
    .map((line) => {
      const names = line.split(/\s+/)[0]?.split(',') ?? [];
      if (!names.includes(h.name) && !names.includes(h.addr)) return line;
      replaced++;
      return `${line.split(/\s+/)[0]} ${wrong}`;
    });
  if (replaced < 2) throw new Error(`expected an alias and an address line for ${h.name} in ${t.knownHosts}, found ${replaced}`);
  const file = join(dir, 'known_hosts');
  writeFileSync(file, lines.join('\n'));
  rmSync(join(dir, 'wrong_key'));
  return file;
}

// ---- bringing the hosts up and down (test/global-setup.ts) ----------------------------------

/**
 * Several `vitest run`s may overlap on one machine (two engineers, a watch run): hosts-up.sh
 * would tear down the hosts another run is using. Each run holds a lease (a file named after its
 * pid); the first one brings the hosts up, the last one out takes them down. A lock file, created
 * exclusively and taken over when its owner is dead, makes that check-then-act atomic.
 */
const LEASES = `${HOSTS_STATE}.leases`;
const LOCK = `${HOSTS_STATE}.lock`;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function withLock<T>(fn: () => T): T {
  const deadline = Date.now() + 120_000;
  for (;;) {
    try {
      writeFileSync(LOCK, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let owner: number;
      try {
        owner = Number(readFileSync(LOCK, 'utf8') || 0);
      } catch {
        continue; // released meanwhile
      }
      if (owner && !alive(owner)) rmSync(LOCK, { force: true });
      else if (Date.now() > deadline) throw new Error(`${LOCK} is held by pid ${owner}`, { cause: e });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { force: true });
  }
}

/** Pids of the other live runs holding a lease (dead runs' leases are removed). */
function otherLeases(): number[] {
  mkdirSync(LEASES, { recursive: true });
  return readdirSync(LEASES)
    .map(Number)
    .filter((pid) => {
      if (pid === process.pid) return false;
      if (alive(pid)) return true;
      rmSync(join(LEASES, String(pid)), { force: true });
      return false;
    });
}

/**
 * Brings the suite's TEST_HOSTS hosts up (hosts-up.sh, output inherited) unless another live run
 * already has them up, and returns the teardown: hosts-down.sh when no other run still uses them.
 */
export function bringUpTestHosts(): () => void {
  withLock(() => {
    const others = otherLeases();
    if (others.length === 0 || !existsSync(`${HOSTS_STATE}/.up`)) {
      execFileSync(join(HOSTS_SCRIPTS, 'hosts-up.sh'), [String(TEST_HOSTS)], { env: hostsEnv(), stdio: 'inherit' });
    } else {
      console.error(`[global-setup] test hosts already up for pid ${others.join(', ')}: sharing them`);
    }
    writeFileSync(join(LEASES, String(process.pid)), '');
  });
  return () =>
    withLock(() => {
      rmSync(join(LEASES, String(process.pid)), { force: true });
      const others = otherLeases();
      if (others.length === 0) {
        execFileSync(join(HOSTS_SCRIPTS, 'hosts-down.sh'), [String(TEST_HOSTS)], { env: hostsEnv(), stdio: 'inherit' });
        rmSync(LEASES, { recursive: true, force: true });
      } else console.error(`[global-setup] test hosts still used by pid ${others.join(', ')}: leaving them up`);
    });
}
