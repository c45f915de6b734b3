// Deploy of a generated tree of 10,000 files (~100 MB): first deploy against `cp -a` of the same
// tree, then a second deploy with one file changed (time and extra disk).
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deployer, median, removeWorkspace, report, round, sh, time, workspace, writeFileMkdir } from './lib.mjs';

const FILES = Number(process.env.BENCH_FILES ?? 10_000);
const SIZE = Number(process.env.BENCH_FILE_SIZE ?? 10_240);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function generate(dir) {
  // 100 directories of 100 files, each with its own random content
  for (let i = 0; i < FILES; i++) writeFileMkdir(join(dir, `d${String(i % 100).padStart(3, '0')}`, `f${i}.bin`), randomBytes(SIZE));
}

const duKb = (...paths) => sh('du', ['-sk', ...paths]).trim().split('\n').map((l) => Number(l.split('\t')[0]));

const hasRsync = spawnSync('rsync', ['--version']).status === 0;
const rsyncFirsts = [];
const rsyncSeconds = [];
const firstPrepares = [];
const secondPrepares = [];
/** The prepare step's own time (the file work), from the deploy log the --json result names. */
const prepareMs = (stdout) => {
  const { log } = JSON.parse(stdout.trim().split('\n').pop());
  const end = readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((e) => e.type === 'step_end' && e.index === 0);
  return end.durationMs;
};
const firsts = [];
const cps = [];
const seconds = [];
const extras = [];
let treeKb = 0;
for (let run = 0; run < RUNS; run++) {
  const ws = workspace('tree');
  try {
    const src = join(ws, 'src');
    generate(src);
    writeFileSync(join(ws, 'deploy.yml'), 'name: bench\nsource: { type: local, path: ./src }\ndeployment: { keep_releases: 5 }\n');
    const env = { DEPLOYER_HOME: join(ws, 'home') };
    // every contender starts with no dirty pages waiting (writeback of earlier runs skews a lot)
    sh('sync', []);
    cps.push(time(() => sh('cp', ['-a', src, join(ws, 'cp-copy')])));
    sh('sync', []);
    if (hasRsync) {
      // the peer approach: rsync into a fresh dir, then --link-dest against it after one change
      rsyncFirsts.push(time(() => sh('rsync', ['-a', `${src}/`, join(ws, 'rs1')])));
    }
    sh('sync', []);
    const first = deployer(['deploy', '--json'], { cwd: ws, env });
    firsts.push(first.ms);
    firstPrepares.push(prepareMs(first.stdout));
    writeFileSync(join(src, 'd042', 'f42.bin'), randomBytes(SIZE));
    sh('sync', []);
    if (hasRsync) rsyncSeconds.push(time(() => sh('rsync', ['-a', `--link-dest=${join(ws, 'rs1')}`, `${src}/`, join(ws, 'rs2')])));
    sh('sync', []);
    const second = deployer(['deploy', '--json'], { cwd: ws, env });
    seconds.push(second.ms);
    secondPrepares.push(prepareMs(second.stdout));
    const r1 = JSON.parse(first.stdout.trim().split('\n').pop()).release;
    const r2 = JSON.parse(second.stdout.trim().split('\n').pop()).release;
    const rel = join(ws, 'home', 'apps', 'bench', 'releases');
    const [kb1, kb2] = duKb(join(rel, r1), join(rel, r2));
    treeKb = kb1;
    extras.push(kb2);
  } finally {
    removeWorkspace(ws);
  }
}

const first = median(firsts);
const cp = median(cps);
const second = median(seconds);
const extra = median(extras);
report('deploy-tree', {
  files: FILES,
  tree_mb: round(treeKb / 1024),
  runs: RUNS,
  first_deploy_ms: round(first),
  cp_a_ms: round(cp),
  first_deploy_vs_cp: round(first / cp, 2),
  first_prepare_step_ms: round(median(firstPrepares)),
  second_deploy_one_file_changed_ms: round(second),
  second_prepare_step_ms: round(median(secondPrepares)),
  second_vs_first_time_pct: round((100 * second) / first),
  second_extra_disk_kb: extra,
  second_extra_disk_pct_of_tree: round((100 * extra) / treeKb, 2),
  ...(hasRsync ? { rsync_first_ms: round(median(rsyncFirsts)), rsync_link_dest_second_ms: round(median(rsyncSeconds)) } : { rsync: 'not installed' }),
  goal_second_time_under_10pct: (100 * second) / first < 10,
  goal_second_disk_under_5pct: (100 * extra) / treeKb < 5,
  samples: { first: firsts.map((x) => round(x)), cp: cps.map((x) => round(x)), second: seconds.map((x) => round(x)) },
});
