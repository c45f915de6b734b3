// Bench hosts for the fleet benchmark: N real sshd hosts in network namespaces, the project's
// harness (test/hosts/hosts.mjs) with knobs of their own (state dir, subnet, bridge, namespace
// prefix) so they never collide with the test suite's hosts (/tmp/dt-hosts, 10.250.0.x, dttest0,
// dt-t*). Needs root. Everything here touches only those namespaces and the processes started in them.
import { namespacedHosts } from '../test/hosts/hosts.mjs';

export const BENCH_HOSTS = Object.freeze({
  state: '/tmp/dt-bench',
  subnet: '10.251.0',
  bridge: 'dtbench0',
  nsPrefix: 'dt-b',
  base: 10,
  namePrefix: 'host',
  privateDirs: ['/srv', '/root'],
});

const bench = namespacedHosts(BENCH_HOSTS);

/**
 * The set as the benchmark reads it: { n, state, configFile, keyFile, knownHosts, names: ['h1'..],
 * addrs: ['10.251.0.11'..], addr(i), srv(i) } where srv(i) is host i's private /srv seen from here.
 */
function described(set) {
  return {
    ...set,
    n: set.hosts.length,
    names: set.hosts.map((h) => h.name),
    addrs: set.hosts.map((h) => h.addr),
    addr: (i) => bench.host(i).addr,
    srv: (i) => bench.host(i).srv,
  };
}

/** Brings up n bench hosts (a previous bench set is taken down first). */
export const hostsUp = async (n) => described(await bench.up(n));

/** Tears the bench hosts down (namespaces, bridge, state dir). Safe to call when none are up. */
export const hostsDown = () => bench.down();

/** The hosts as they are now (after hostsUp in this or another process). */
export const currentHosts = () => described(bench.current());

/** Host i's sshd (PID 1 of its PID namespace) as this machine sees it, or null when down. */
export const hostSshdPid = (i) => bench.sshdPid(i) ?? null;

/** SIGKILLs host i's sshd, and with it everything on that host; resolves with its pid once it is gone. */
export const killHostSshd = (i) => bench.kill(i);

/** Relaunches host i's sshd unless it runs; resolves once ssh to it works. */
export const reviveHost = (i) => bench.revive(i);

/** Closes ssh ControlMaster connections whose sockets are in `dir` (default: the harness's cm/). */
export const closeMasters = (dir) => bench.closeMasters(dir);
