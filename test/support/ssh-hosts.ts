// Real SSH hosts for integration tests: the project's namespaced hosts (test/hosts/hosts.mjs) with
// the suite's own knobs, brought up once per `vitest run` by test/global-setup.ts (root only) and
// shared by overlapping runs through leases.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { namespacedHosts, type Host, type HostSet } from '../hosts/hosts.mjs';

/** The suite's knobs, so its hosts never collide with anyone else's (the benchmark's are bench/fleet-hosts.mjs's). */
export const TEST_HOSTS_OPTIONS = {
  state: '/tmp/dt-hosts',
  subnet: '10.250.0',
  base: 10,
  bridge: 'dttest0',
  nsPrefix: 'dt-t',
  namePrefix: 'host',
  privateDirs: ['/srv', '/root'],
} as const;
export const HOSTS_STATE = TEST_HOSTS_OPTIONS.state;
export const TEST_HOSTS = 6;

const harness = namespacedHosts(TEST_HOSTS_OPTIONS);

export type TestHost = Host;
export type TestHosts = HostSet;

function checkIndex(i: number): number {
  if (!Number.isInteger(i) || i < 1 || i > TEST_HOSTS) throw new Error(`no test host ${i}: hosts are 1..${TEST_HOSTS}`);
  return i;
}

/** The suite's hosts; throws a clear error when they are not up. */
export function testHosts(): TestHosts {
  let set: HostSet | undefined;
  let why = '';
  try {
    set = harness.current();
    if (set.hosts.length < TEST_HOSTS) why = `only ${set.hosts.length} of ${TEST_HOSTS} hosts are listed in ${set.list}`;
  } catch (e) {
    why = (e as Error).message;
  }
  if (!set || why) {
    throw new Error(
      `the test SSH hosts are not up (${why}). test/global-setup.ts brings ${TEST_HOSTS} up with test/hosts/hosts.mjs ` +
        `when the suite runs as root${process.getuid?.() === 0 ? '' : ' (it is not running as root)'}.`,
    );
  }
  return { ...set, hosts: set.hosts.slice(0, TEST_HOSTS) };
}

/** Host i's sshd pid (PID 1 of its PID namespace) as this machine sees it; undefined when it is down. */
export const sshdPid = (i: number): number | undefined => harness.sshdPid(checkIndex(i));

/**
 * Cuts every ssh session to host i (kills its sshd session processes, not the listening sshd):
 * a network partition as the host sees it. The host and what runs there stay up; a process the
 * session started loses its stdin/stdout. Returns how many sessions were cut.
 */
export const cutSessions = (i: number): number => harness.cutSessions(checkIndex(i));

/**
 * Kills host i's sshd, PID 1 of its PID namespace, with SIGKILL: the kernel then kills every
 * process on that host (sessions, apps started there), as if the host died. The network
 * namespace and the host's files stay. Resolves once port 22 of its address refuses connections.
 */
export async function killSshd(i: number): Promise<void> {
  testHosts();
  await harness.kill(checkIndex(i));
}

/**
 * Relaunches host i's sshd in its namespaces as bringing it up did, unless it runs, and resolves
 * once ssh to it works. Tests that kill a host call it in afterAll/finally, so later tests find
 * every host alive.
 */
export async function reviveHost(i: number): Promise<void> {
  testHosts();
  await harness.revive(checkIndex(i));
}

/** Closes the ssh ControlMaster connections whose sockets are in dir. */
export const closeMasters = (dir: string): void => harness.closeMasters(dir);

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
 * Several `vitest run`s may overlap on one machine (two engineers, a watch run): bringing the
 * hosts up would tear down the hosts another run is using. Each run holds a lease (a file named
 * after its pid); the first one brings the hosts up, the last one out takes them down. A lock
 * file, created exclusively and taken over when its owner is dead, makes that check-then-act
 * atomic. (The same two paths as before the harness moved into the repository: runs of either
 * kind share the hosts.)
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

async function withLock<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 300_000; // another run may be bringing the hosts up (apt-get on a fresh machine)
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
      else await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
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
 * Brings the suite's TEST_HOSTS hosts up unless another live run already has them up, and
 * returns the teardown: the hosts go down when no other run still uses them.
 */
export async function bringUpTestHosts(): Promise<() => Promise<void>> {
  await withLock(async () => {
    const others = otherLeases();
    if (others.length === 0 || !existsSync(harness.files.upMark)) await harness.up(TEST_HOSTS);
    else console.error(`[global-setup] test hosts already up for pid ${others.join(', ')}: sharing them`);
    writeFileSync(join(LEASES, String(process.pid)), '');
  });
  return () =>
    withLock(async () => {
      rmSync(join(LEASES, String(process.pid)), { force: true });
      const others = otherLeases();
      if (others.length === 0) {
        await harness.down();
        rmSync(LEASES, { recursive: true, force: true });
      } else console.error(`[global-setup] test hosts still used by pid ${others.join(', ')}: leaving them up`);
    });
}
