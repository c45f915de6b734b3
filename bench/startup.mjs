// `deployer --version` start time (goal: under 150 ms), against bare `node -e 0` for scale.
import { spawnSync } from 'node:child_process';
import { BIN, median, report, round } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const timeIt = (args) => {
  const xs = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
    xs.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(r.stderr);
  }
  return xs;
};
const version = timeIt([BIN, '--version']);
const help = timeIt([BIN, '--help']);
const bare = timeIt(['-e', '0']);
report('startup', {
  runs: RUNS,
  version_median_ms: round(median(version)),
  help_median_ms: round(median(help)),
  bare_node_median_ms: round(median(bare)),
  goal_version_under_150ms: median(version) < 150,
});
