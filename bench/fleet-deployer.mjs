// Fleet benchmark, Deployer's figures: fresh deploys to each fleet size, the largest again with
// every ssh master closed first, a one-file redeploy and a rollback of the largest; each run its
// own CLI process (bench/fleet-cli.mjs), started once the machine has settled.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { closeMasters } from './fleet-hosts.mjs';
import { APP_ROOT, cli, ctx, firstLine, openMasters, phases, resetHosts, s2, verify, writeManifest } from './fleet-cli.mjs';
import { CHANGED_FILE, changeOneFile } from './fleet-workload.mjs';
import { median } from './lib.mjs';

/**
 * Returns { cliStartS, firstDeployWithAgentInstallS, deploy: {n: {medianS, runsS, settle,
 * sshMastersOpenBefore}}, deployColdMasters, redeployOneFile, rollback, timelines }.
 */
export async function measureDeployer({ sizes, repeat, log }) {
  const big = Math.max(...sizes);
  const series = () => ({ ms: [], settle: [], open: [] });
  const raw = { deploy: Object.fromEntries(sizes.map((s) => [s, series()])), deployColdMasters: series(), redeployOneFile: series(), rollback: series() };
  const keep = (s, res) => {
    s.ms.push(res.ms);
    s.settle.push(res.settle);
    s.open.push(res.before);
  };
  const timelines = {};
  const line = () => firstLine(join(ctx.appDir, CHANGED_FILE));

  // CLI start, for scale: `--version` (the smallest thing the CLI does)
  const startMs = [];
  for (let k = 0; k < 3; k++) {
    const t0 = performance.now();
    spawnSync(process.execPath, [ctx.CLI, '--version'], { stdio: 'ignore' });
    startMs.push(performance.now() - t0);
  }

  // the first deploy ever to these hosts also installs Deployer's agent on each (once per build):
  // untimed for the figures, reported on its own
  resetHosts();
  writeManifest('deploy.yml', { name: 'bench', n: big, appRoot: APP_ROOT });
  const first = await cli(['deploy']);
  verify('first deploy (agent install)', first, big, { line: line(), fullTree: true });
  log(`first deploy to ${big} hosts, agent installed on each: ${s2(first.ms)} s (not in the figures)`);

  const settled = (res) => `settled in ${res.settle.waitS} s${res.settle.settled ? '' : ' (did NOT settle)'}`;
  for (let r = 0; r < repeat; r++) {
    // a fresh deploy to each size, each its own CLI process; the ssh masters of the runs before are
    // still open (ControlPersist 60 s) as they would be for a user deploying again within a minute
    for (const n of sizes) {
      resetHosts();
      writeManifest('deploy.yml', { name: 'bench', n, appRoot: APP_ROOT });
      const res = await cli(['deploy'], { beforeSpawn: openMasters });
      verify(`deploy to ${n}`, res, n, { line: line(), fullTree: true });
      keep(raw.deploy[n], res);
      if (r === 0 && n === big) timelines.deploy20 = phases(res);
      log(`deployer deploy n=${n} run ${r + 1}/${repeat}: ${s2(res.ms)} s (${res.before} ssh masters open before; ${settled(res)})`);
    }
    // the same to the largest with every master closed first: the figure with ssh connection setup
    resetHosts();
    closeMasters(ctx.cmDir);
    const cold = await cli(['deploy'], { beforeSpawn: openMasters });
    const v1 = verify(`deploy to ${big}, masters closed`, cold, big, { line: line(), fullTree: true });
    const v1Line = line();
    keep(raw.deployColdMasters, cold);
    if (r === 0) timelines.deploy20ColdMasters = phases(cold);
    log(`deployer deploy n=${big}, masters closed first, run ${r + 1}/${repeat}: ${s2(cold.ms)} s (${cold.before} masters open before; ${settled(cold)})`);

    // one file changed, deployed again to the largest (unchanged files hard-linked to the previous release)
    changeOneFile(ctx.appDir);
    const re = await cli(['deploy'], { beforeSpawn: openMasters });
    const v2 = verify(`one-file redeploy to ${big}`, re, big, { line: line(), fullTree: true });
    if (v2 === v1) throw new Error('one-file redeploy made no new release');
    keep(raw.redeployOneFile, re);
    if (r === 0) timelines.redeployOneFile20 = phases(re);
    log(`deployer redeploy one file n=${big} run ${r + 1}/${repeat}: ${s2(re.ms)} s (${settled(re)})`);

    // and back
    const rb = await cli(['rollback'], { beforeSpawn: openMasters });
    verify(`rollback of ${big}`, rb, big, { release: v1, line: v1Line });
    keep(raw.rollback, rb);
    if (r === 0) timelines.rollback20 = phases(rb);
    log(`deployer rollback n=${big} run ${r + 1}/${repeat}: ${s2(rb.ms)} s (${settled(rb)})`);
  }
  resetHosts();

  const fig = (s) => ({ medianS: s2(median(s.ms)), runsS: s.ms.map(s2), settle: s.settle, sshMastersOpenBefore: s.open });
  return {
    cliStartS: s2(median(startMs)),
    firstDeployWithAgentInstallS: s2(first.ms),
    deploy: Object.fromEntries(sizes.map((s) => [s, fig(raw.deploy[s])])),
    deployColdMasters: { hosts: big, ...fig(raw.deployColdMasters) },
    redeployOneFile: { hosts: big, ...fig(raw.redeployOneFile) },
    rollback: { hosts: big, ...fig(raw.rollback) },
    timelines,
  };
}
