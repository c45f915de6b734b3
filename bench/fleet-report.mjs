// Fleet benchmark, the report: the goals computed from the figures, the table, and what is printed
// at the end of `node bench/fleet.mjs`. Only what ran is printed; a goal that compares with the
// peers is "not measured" when they did not run.
import { WORKLOAD } from './fleet-workload.mjs';
import { median, round } from './lib.mjs';
import { SETTLE } from './fleet-settle.mjs';

const NOT = 'not measured';
const mm = (b) => (b == null ? NOT : b ? 'met' : 'MISSED');

function table(dep, peersFig, sizes) {
  const big = Math.max(...sizes);
  const head = ['tool', ...sizes.map((s) => `${s} host${s === 1 ? '' : 's'}`), `${big} hosts, ssh masters closed`, `1-file redeploy ${big}`, `rollback ${big}`];
  const rows = [
    ...(dep
      ? [['deployer', ...sizes.map((s) => `${dep.deploy[s].medianS} s`), `${dep.deployColdMasters.medianS} s`, `${dep.redeployOneFile.medianS} s`, `${dep.rollback.medianS} s`]]
      : []),
    ...Object.entries(peersFig).map(([p, f]) => [p, ...sizes.map((s) => `${f.deploy[s].medianS} s`), '(every run)', `${f.redeployOneFile.medianS} s`, `${f.rollback.medianS} s`]),
  ];
  const w = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (r) => `| ${r.map((x, c) => x.padEnd(w[c])).join(' | ')} |`;
  return [fmt(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...rows.map(fmt)].join('\n');
}

const killLine = (k) =>
  `${Object.keys(k).filter((x) => /^h\d+$/.test(x)).map((x) => `${x}=${k[x]}`).join(' ')}, exit ${k.exitCode}, ${k.mixed ? 'mixed' : 'not mixed'}`;

/** The goals, from Deployer's figures (null when Deployer did not run) and the peers' (maybe none). */
export function goalsOf(dep, peersFig, sizes) {
  if (!dep) return null;
  const big = Math.max(...sizes);
  const one = dep.deploy[1]?.medianS ?? null;
  const twenty = dep.deploy[big].medianS;
  const cold = dep.deployColdMasters.medianS;
  const [fasterPeer, fasterPeerS] = Object.entries(peersFig).map(([p, f]) => [p, f.deploy[big].medianS]).sort((a, b) => a[1] - b[1])[0] ?? [null, null];
  const ratio1 = one == null ? null : round(twenty / one, 2);
  const speedup = fasterPeer == null ? null : round(fasterPeerS / twenty, 2);
  const speedupCold = fasterPeer == null ? null : round(fasterPeerS / cold, 2);
  const peerGoal = (s, x) => (fasterPeer == null ? { met: null, measured: false, deploy20S: s, why: 'the peers did not run' } : { met: x >= 3, deploy20S: s, fasterPeer, fasterPeerS, speedup: x });
  return {
    hosts: big,
    deploy20_under_2x_one_host: one == null ? { met: null, measured: false, deploy20S: twenty, why: 'no 1-host deploy in FLEET_SIZES' } : { met: twenty < 2 * one, deploy20S: twenty, deploy1S: one, ratio: ratio1 },
    deploy20_3x_faster_than_faster_peer: peerGoal(twenty, speedup),
    deploy20_masters_closed_3x_faster_than_faster_peer: peerGoal(cold, speedupCold),
    redeploy_one_file_20_under_3s: { met: dep.redeployOneFile.medianS < 3, s: dep.redeployOneFile.medianS },
    rollback_20_under_2s: { met: dep.rollback.medianS < 2, s: dep.rollback.medianS },
  };
}

/** Every settle of the timed runs in the figures: count, how many did not settle, median wait. */
function settleSummary(dep, peersFig) {
  const all = [];
  const add = (f) => all.push(...(f.settle ?? []));
  if (dep) for (const f of [...Object.values(dep.deploy), dep.deployColdMasters, dep.redeployOneFile, dep.rollback]) add(f);
  for (const f of Object.values(peersFig)) for (const g of [...Object.values(f.deploy), f.redeployOneFile, f.rollback]) add(g);
  if (!all.length) return null;
  return { runs: all.length, notSettled: all.filter((s) => !s.settled).length, waitSMedian: round(median(all.map((s) => s.waitS)), 2), waitSMax: Math.max(...all.map((s) => s.waitS)) };
}

/** Prints the report to stdout. */
export function printReport({ dep, peersFig, kills, goals, machine, sizes, repeat, parallel }) {
  const big = Math.max(...sizes);
  const peers = Object.keys(peersFig);
  console.log(`\nFleet: ${WORKLOAD.files} files, ~${WORKLOAD.bytes / 1e6} MB, recreate, fresh deploys (the hosts' app dir removed before each, untimed); median of ${repeat}`);
  if (dep) {
    console.log(`Deployer: ssh.parallel ${parallel}; ssh connections persist between runs (ControlPersist 60 s), so every size after the first ran with masters already open;`);
    console.log(`  "${big} hosts, ssh masters closed" is the ${big}-host deploy with every master closed first (connection setup included). Agent installed once before (first deploy: ${dep.firstDeployWithAgentInstallS} s, not in the figures).`);
  }
  if (peers.length) console.log(`Peers: ${peers.join(', ')} at their default parallelism (all hosts at once); they open new ssh connections on every run.`);
  console.log(`Machine: ${machine.cpus} CPUs shared by this side and all ${big} hosts (network namespaces); load average ${machine.loadavgAtStart.join(' ')} at the start, ${machine.loadavgAtEnd.join(' ')} at the end.`);
  const st = settleSummary(dep, peersFig);
  if (st)
    console.log(
      `Settle: before each timed run, sync, then wait for a ${SETTLE.windowMs / 1000} s window with the CPUs >= ${SETTLE.idle * 100}% idle (at most ${SETTLE.maxMs / 1000} s): ${st.runs} runs, wait ${st.waitSMedian} s median, ${st.waitSMax} s max, ${st.notSettled ? `${st.notSettled} did NOT settle` : 'all settled'}.`,
    );
  console.log(`\n${table(dep, peersFig, sizes)}`);
  console.log('\nGoals:');
  if (!goals) console.log(`  ${NOT} (deployer did not run)`);
  else {
    const g = goals;
    const a = g.deploy20_under_2x_one_host;
    const b = g.deploy20_3x_faster_than_faster_peer;
    const c = g.deploy20_masters_closed_3x_faster_than_faster_peer;
    if (big !== 20) console.log(`  (the goals are for 20 hosts; this run's largest fleet is ${big}: indicative only)`);
    console.log(`  ${big} hosts in under 2x the time of one host: ${a.measured === false ? `${NOT} (${a.why})` : `${a.deploy20S} s vs ${a.deploy1S} s (${a.ratio}x): ${mm(a.met)}`}`);
    if (b.measured === false) {
      console.log(`  ${big} hosts at least 3x faster than the faster peer: ${b.deploy20S} s: ${NOT} (${b.why})`);
      console.log(`    with ssh connection setup (masters closed first): ${c.deploy20S} s: ${NOT} (${c.why})`);
    } else {
      console.log(`  ${big} hosts at least 3x faster than the faster peer (${b.fasterPeer}, ${b.fasterPeerS} s): ${b.deploy20S} s, ${b.speedup}x: ${mm(b.met)}`);
      console.log(`    with ssh connection setup (masters closed first): ${c.deploy20S} s, ${c.speedup}x: ${mm(c.met)}`);
    }
    console.log(`  one-file redeploy to ${big} hosts under 3 s: ${g.redeploy_one_file_20_under_3s.s} s: ${mm(g.redeploy_one_file_20_under_3s.met)}`);
    console.log(`  rollback of ${big} hosts under 2 s: ${g.rollback_20_under_2s.s} s: ${mm(g.rollback_20_under_2s.met)}`);
  }
  console.log('\nKilled at switch (3 hosts, h2 killed: its sshd, PID 1 of its namespace):');
  for (const k of kills.deployer ?? [])
    console.log(
      `  deployer:   ${killLine(k)}; h1, h3 ${k.survivorsOnV1 ? 'back on v1' : 'NOT back on v1'}; results ${JSON.stringify(k.results)}; next deploy ${k.nextDeploy.recovered ? 'recovered every host' : 'did NOT recover'} (killed at: ${k.trigger})`,
    );
  for (const p of peers) for (const k of kills[p] ?? []) console.log(`  ${p.padEnd(11)} ${killLine(k)} (killed at: ${k.trigger})`);
  if (!dep) return;
  console.log(`\nWhere Deployer's ${big}-host time goes (first run; seconds since the CLI started):`);
  for (const [name, t] of Object.entries(dep.timelines)) {
    console.log(`  ${name}: wall ${t.wall_s} s, CLI says ${t.cli_reported_s} s${t.upload_s_median != null ? `; upload per host ${t.upload_s_median} s median, ${t.upload_s_max} s max` : ''}`);
    console.log(`    fleet: ${t.fleet.join('; ')}`);
    console.log(`    hosts: ${t.steps.join('; ')}`);
    if (t.other_stderr.length) console.log(`    other stderr: ${t.other_stderr.join(' | ')}`);
  }
  console.log(`  CLI start (--version): ${dep.cliStartS} s`);
}
