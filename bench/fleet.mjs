// Fleet benchmark: Deployer's `deploy`/`rollback` over SSH to 1, 5, 10 and 20 real sshd hosts
// (network namespaces, bench/fleet-hosts.mjs), against Capistrano and Shipit (bench/fleet-peers.mjs)
// on the same hosts and the same release (bench/fleet-workload.mjs: 2,000 files, ~20 MB), in one run.
// Goals: 20 hosts in under 2x the time of one host and at least 3x faster than the faster peer; the
// one-file redeploy to 20 hosts under 3 s; a rollback of 20 hosts under 2 s. Also what each tool
// leaves behind when one host dies as the switch starts (bench/fleet-killed.mjs).
//
// `node bench/fleet.mjs` (root). FLEET_REPEAT=n (default 3): medians of n runs. FLEET_KILL_REPEAT=n
// (default 1): killed-at-switch runs per tool. FLEET_TOOLS=deployer,capistrano,shipit (default: all)
// and FLEET_SIZES=1,5,10,20 (default) for quick iterations (bench/fleet-options.mjs). Every timed
// run, of every tool, starts once the machine has settled (bench/fleet-settle.mjs). Build the CLI
// first (node scripts/build.mjs): the run uses a copy of dist/ taken at its start, so a rebuild
// meanwhile does not change what is measured.
import { existsSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { closeMasters, hostsDown, hostsUp } from './fleet-hosts.mjs';
import { PARALLEL, ctx, makeWorkspace } from './fleet-cli.mjs';
import { measureDeployer } from './fleet-deployer.mjs';
import { deployerKilledAtSwitch, killedAtSwitch } from './fleet-killed.mjs';
import { fleetKillRepeat, fleetRepeat, fleetSizes, fleetTools } from './fleet-options.mjs';
import { PEERS, installPeers, measurePeers, preparePeerRepo } from './fleet-peers.mjs';
import { goalsOf, printReport } from './fleet-report.mjs';
import { WORKLOAD, makeWorkload } from './fleet-workload.mjs';
import { ROOT, report, round } from './lib.mjs';

const REPEAT = fleetRepeat(3);
const KILL_REPEAT = fleetKillRepeat();
const SIZES = fleetSizes();
const TOOLS = fleetTools();
const BIG = Math.max(...SIZES);
const PEER_TOOLS = TOOLS.filter((t) => t in PEERS);
const log = (m) => console.error(`[fleet] ${m}`);

if (process.getuid?.() !== 0) {
  console.error('bench/fleet.mjs needs root (network namespaces)');
  process.exit(1);
}
if (!existsSync(join(ROOT, 'dist', 'cli.js'))) {
  console.error('the built CLI is missing: node scripts/build.mjs');
  process.exit(1);
}

// ---- the workspace (bench/fleet-cli.mjs); teardown, also on failure and on SIGINT/SIGTERM

makeWorkspace();
let down = false;
async function teardown() {
  if (down) return;
  down = true;
  const child = ctx.child;
  if (child && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  try {
    closeMasters(ctx.cmDir);
  } catch (e) {
    console.error(e);
  }
  try {
    await hostsDown();
  } catch (e) {
    console.error(e);
  }
  rmSync(ctx.ws, { recursive: true, force: true });
}
process.once('SIGINT', () => teardown().finally(() => process.exit(130)));
process.once('SIGTERM', () => teardown().finally(() => process.exit(143)));

// ---- the run

async function main() {
  const t0 = performance.now();
  const { build } = ctx;
  const machine = { cpus: cpus().length, loadavgAtStart: loadavg().map((x) => round(x, 2)) };
  log(`machine: ${machine.cpus} CPUs, load ${machine.loadavgAtStart.join(' ')} (the ${BIG} hosts share them: they are namespaces of this machine)`);
  log(`tools ${TOOLS.join(', ')}; sizes ${SIZES.join(', ')}`);
  log(`workspace ${ctx.ws} (DEPLOYER_HOME ${ctx.home}); CLI: a copy of dist/ built ${build.dist_built} at ${build.head}${build.dirty.length ? ` with uncommitted src changes (${build.dirty.length} files)` : ''}`);
  const versions = PEER_TOOLS.length ? await installPeers() : {};
  log(`peers: ${JSON.stringify(versions)}; repeat ${REPEAT}`);
  const hosts = await hostsUp(Math.max(3, BIG)); // 3 for the killed-at-switch runs
  ctx.hosts = hosts;
  log(`${hosts.n} bench hosts up (${hosts.addrs[0]}..${hosts.addrs.at(-1)})`);
  const wl = makeWorkload(ctx.appDir);
  log(`workload: ${wl.files} files, ${wl.bytes} bytes in ${ctx.appDir}; the peers' git repo holds the same tree (same generator and seed)`);
  const repo = PEER_TOOLS.length ? await preparePeerRepo() : null;

  let dep = null;
  if (TOOLS.includes('deployer')) {
    log(`deployer: recreate, service none, router none, ssh.parallel ${PARALLEL}; ssh connections persist between runs (ControlPersist 60 s)`);
    dep = await measureDeployer({ sizes: SIZES, repeat: REPEAT, log });
  }
  const peersFig = PEER_TOOLS.length ? await measurePeers({ hosts, repo, repeat: REPEAT, sizes: SIZES, peers: PEER_TOOLS, log: (m) => console.error(m) }) : {};

  const kills = {};
  if (dep) {
    kills.deployer = [];
    for (let k = 0; k < KILL_REPEAT; k++) {
      const d = await deployerKilledAtSwitch();
      kills.deployer.push(d);
      log(`deployer killed at switch: ${JSON.stringify(d)}`);
    }
  }
  for (const p of PEER_TOOLS) {
    kills[p] = [];
    for (let k = 0; k < KILL_REPEAT; k++) {
      const o = await killedAtSwitch(p, { hosts, repo, n: 3, victim: 2 });
      kills[p].push(o);
      PEERS[p].reset(hosts);
      log(`${p} killed at switch: ${JSON.stringify(o)}`);
    }
  }

  const goals = goalsOf(dep, peersFig, SIZES);
  machine.loadavgAtEnd = loadavg().map((x) => round(x, 2));
  printReport({ dep, peersFig, kills, goals, machine, sizes: SIZES, repeat: REPEAT, parallel: PARALLEL });

  report('fleet', {
    workload: { files: WORKLOAD.files, bytes: WORKLOAD.bytes },
    repeat: REPEAT,
    tools: TOOLS,
    sizes: SIZES,
    build,
    machine,
    versions,
    deployer: dep ? { parallel: PARALLEL, sshControlPersistS: 60, strategy: 'recreate', ...dep } : null,
    peers: peersFig,
    goals,
    killedAtSwitch: kills,
    totalS: round((performance.now() - t0) / 1000, 1),
  });
}

try {
  await main();
} catch (e) {
  console.error(e);
  process.exitCode = 1;
} finally {
  await teardown();
}
