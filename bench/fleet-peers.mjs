// Fleet benchmark, the peers' side: the same release deployed with the tools people use today,
// against the same bench hosts as Deployer's own measurements (bench/fleet-hosts.mjs):
//   - Capistrano (bench/fleet-capistrano.mjs), deploying from a local bare git repo that every host
//     clones/fetches over file:// (bench/fleet-peer-setup.mjs);
//   - Shipit (bench/fleet-shipit.mjs): shallow clone of the same repo locally, rsync to hosts.
// Both peers run at their default parallelism (every host at once: SSHKit's `on roles(:all)`
// default is :parallel with no limit, Shipit's ssh-pool runs each command on every server with
// Promise.all); neither's docs suggest otherwise for a fleet this size. Every timed command starts
// once the machine has settled (bench/fleet-settle.mjs), as Deployer's do.
//
// Standalone: `node bench/fleet-peers.mjs` (root; FLEET_REPEAT=3 for medians of 3, default 1;
// FLEET_TOOLS picks the peers, FLEET_SIZES the fleet sizes: bench/fleet-options.mjs).
import { fileURLToPath } from 'node:url';
import { hostsDown, hostsUp } from './fleet-hosts.mjs';
import { capistrano } from './fleet-capistrano.mjs';
import { shipit } from './fleet-shipit.mjs';
import { installPeers, preparePeerRepo } from './fleet-peer-setup.mjs';
import { killedAtSwitch } from './fleet-killed.mjs';
import { DEFAULT_SIZES, fleetRepeat, fleetSizes, fleetTools } from './fleet-options.mjs';
import { WORKLOAD } from './fleet-workload.mjs';
import { median, report, round } from './lib.mjs';

export { PEERS_DIR, VERSIONS, WORK, installPeers, preparePeerRepo } from './fleet-peer-setup.mjs';
export { capistrano } from './fleet-capistrano.mjs';
export { shipit } from './fleet-shipit.mjs';
export { killedAtSwitch } from './fleet-killed.mjs';

export const PEERS = { capistrano, shipit };

// ---- the whole peers run ------------------------------------------------------------------------

export const FLEET_SIZES = [...DEFAULT_SIZES];
/**
 * All peer figures on already-up hosts (hosts.n >= max(sizes)): per peer and repeat, a fresh deploy
 * to each size, then (on the largest) a one-file redeploy and a rollback; then the killed-at-switch
 * outcome per peer. Returns { peers: { capistrano: {deploy: {1: {median, runs}}, ...}}, ... }.
 */
export async function measurePeers({ hosts, repo, repeat = 1, sizes = FLEET_SIZES, peers = Object.keys(PEERS), log = console.error } = {}) {
  const big = Math.max(...sizes);
  const raw = {};
  const series = () => ({ ms: [], settle: [] });
  for (const p of peers) raw[p] = { deploy: Object.fromEntries(sizes.map((s) => [s, series()])), redeployOneFile: series(), rollback: series() };
  const keep = (s, res) => {
    s.ms.push(res.ms);
    s.settle.push(res.settle);
  };
  const settled = (res) => `settled in ${res.settle.waitS} s${res.settle.settled ? '' : ' (did NOT settle)'}`;
  for (let r = 0; r < repeat; r++) {
    for (const p of peers) {
      const peer = PEERS[p];
      for (const n of sizes) {
        const res = await peer.deploy(hosts, { n, repo, fresh: true });
        keep(raw[p].deploy[n], res);
        log(`[fleet-peers] ${p} deploy n=${n} run ${r + 1}/${repeat}: ${round(res.ms / 1000, 2)} s (${settled(res)})`);
      }
      // the hosts 1..big now have the release from the last (largest) deploy
      const re = await peer.redeployOneFile(hosts, { n: big, repo });
      keep(raw[p].redeployOneFile, re);
      log(`[fleet-peers] ${p} redeploy one file n=${big}: ${round(re.ms / 1000, 2)} s (${settled(re)})`);
      const rb = await peer.rollback(hosts, { n: big, repo });
      keep(raw[p].rollback, rb);
      log(`[fleet-peers] ${p} rollback n=${big}: ${round(rb.ms / 1000, 2)} s (${settled(rb)})`);
      peer.reset(hosts);
    }
  }
  const fig = (s) => ({ medianS: round(median(s.ms) / 1000, 2), runsS: s.ms.map((x) => round(x / 1000, 2)), settle: s.settle });
  const out = {};
  for (const p of peers) {
    out[p] = {
      deploy: Object.fromEntries(sizes.map((s) => [s, fig(raw[p].deploy[s])])),
      redeployOneFile: { hosts: big, ...fig(raw[p].redeployOneFile) },
      rollback: { hosts: big, ...fig(raw[p].rollback) },
    };
  }
  return out;
}

function table(peersFig, kills, sizes) {
  const head = ['tool', ...sizes.map((s) => `deploy ${s}`), `1-file ${Math.max(...sizes)}`, `rollback ${Math.max(...sizes)}`, 'killed at switch'];
  const rows = Object.entries(peersFig).map(([p, f]) => [
    p,
    ...sizes.map((s) => `${f.deploy[s].medianS} s`),
    `${f.redeployOneFile.medianS} s`,
    `${f.rollback.medianS} s`,
    kills[p]?.length
      ? kills[p]
          .map((o) => Object.keys(o).filter((k) => /^h\d+$/.test(k)).map((k) => `${k}=${o[k]}`).join(' '))
          .join('; ') + ` (mixed ${kills[p].filter((o) => o.mixed).length}/${kills[p].length})`
      : '-',
  ]);
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (r) => `| ${r.map((x, c) => x.padEnd(w[c])).join(' | ')} |`;
  return [line(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error('fleet-peers needs root (network namespaces)');
  const repeat = fleetRepeat(1);
  const sizes = fleetSizes();
  const peers = fleetTools().filter((t) => t in PEERS);
  if (!peers.length) throw new Error('FLEET_TOOLS names no peer (capistrano, shipit)');
  const versions = await installPeers();
  console.error(`[fleet-peers] ${JSON.stringify(versions)}; repeat ${repeat}`);
  let down = false;
  const teardown = async () => {
    if (down) return;
    down = true;
    await hostsDown();
  };
  process.once('SIGINT', () => teardown().finally(() => process.exit(130)));
  process.once('SIGTERM', () => teardown().finally(() => process.exit(143)));
  try {
    const hosts = await hostsUp(Math.max(3, ...sizes));
    const repo = await preparePeerRepo();
    const t0 = performance.now();
    const peersFig = await measurePeers({ hosts, repo, repeat, sizes, peers });
    const kills = {};
    for (const p of peers) {
      kills[p] = [];
      for (let r = 0; r < repeat; r++) {
        const k = await killedAtSwitch(p, { hosts, repo, n: 3, victim: 2 });
        kills[p].push(k);
        PEERS[p].reset(hosts);
        console.error(`[fleet-peers] ${p} killed at switch: ${JSON.stringify(k)}`);
      }
    }
    console.log(`\n${table(peersFig, kills, sizes)}\n`);
    report('fleet-peers', {
      workload: { files: WORKLOAD.files, bytes: WORKLOAD.bytes },
      repeat,
      versions,
      parallelism: 'defaults: Capistrano/SSHKit on roles(:all) in parallel, no limit; Shipit ssh-pool all servers at once',
      transport: 'Capistrano: net-ssh, git clone --mirror/fetch of file:// repo on each host, git archive; Shipit: local shallow clone, rsync -az --del over ssh with ControlMaster (masters closed between runs)',
      peers: peersFig,
      killedAtSwitch: kills,
      totalS: round((performance.now() - t0) / 1000, 1),
    });
  } finally {
    await teardown();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
