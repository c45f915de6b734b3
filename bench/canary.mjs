// Blast radius of a failing canary on the embedded runtime, on loopback: a new version answering
// 500 on 20% of its requests goes in at 10% weight, analysed every 5 s with failure_limit 3.
// Measured under constant load:
// - abort time: from the first answer of the canary to its weight going to 0 (the deploy's
//   "canary aborted" line, printed once the router has the new weights);
//   goal: within failure_limit x interval + 1 s;
// - blast radius: the requests that failed, against the budget of the goal: 10% (weight) x 20%
//   (its failure rate) of the requests the goal window (failure_limit x interval + 1 s) carries at
//   the measured rate; also the share of all requests of the run that failed.
// No peer tool does metric-analysed canaries on plain servers, so there is nothing to run beside it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constantLoad, deployer, deployerTimed, freeBase, median, report, round, stopRuntimeAndRemove, workspace, writeFileMkdir } from './lib.mjs';

const RUNS = Number(process.env.BENCH_CANARY_RUNS ?? 2);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
const INTERVAL_S = Number(process.env.BENCH_CANARY_INTERVAL_S ?? 5);
const FAILURE_LIMIT = 3;
const WEIGHT = 10;
const FAIL_PERCENT = 20;
/** no load phase runs longer than this, whatever happens */
const MAX_LOAD_MS = 120_000;

/** Per version, when it first and last answered; every answer's and failure's time. */
function load(port) {
  const s = { total: 0, failedAt: [], answeredAt: [], first: new Map(), last: new Map() };
  const l = constantLoad(port, {
    connections: CONNECTIONS,
    maxMs: MAX_LOAD_MS,
    onAnswer(status, body, now) {
      s.total++;
      s.answeredAt.push(now);
      const v = body.trim().split(' ').pop();
      if (!s.first.has(v)) s.first.set(v, now);
      s.last.set(v, now);
      if (status !== 200) s.failedAt.push(now);
    },
    onError(_e, now) {
      s.total++;
      s.failedAt.push(now);
    },
  });
  return {
    async stop() {
      await l.stop();
      return s;
    },
  };
}

const base = await freeBase([0, 1, 100, 101, 500]);
const routerPort = base + 500;
const ws = workspace('canary');
const app = join(ws, 'app');
writeFileMkdir(
  join(app, 'server.cjs'),
  `const fs = require('fs');
const v = fs.readFileSync(__dirname + '/VERSION', 'utf8').trim();
const failPercent = Number(fs.existsSync(__dirname + '/FAIL_PERCENT') ? fs.readFileSync(__dirname + '/FAIL_PERCENT', 'utf8') : 0);
let n = 0;
const s = require('http').createServer((q, r) => {
  if (q.url === '/health') return r.end('ok');
  n++;
  const fail = Math.floor((n * failPercent) / 100) !== Math.floor(((n - 1) * failPercent) / 100);
  r.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' });
  r.end(fail ? 'failed ' + v : v);
});
s.keepAliveTimeout = 65000;
s.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { s.close(() => process.exit(0)); s.closeIdleConnections(); });
`,
);
writeFileSync(
  join(ws, 'deploy.yml'),
  `name: bench
source: { type: local, path: ./app }
deployment:
  strategy: canary
  keep_releases: 3
  canary:
    stages: [{ weight: ${WEIGHT}, duration: 10m }, { weight: 50, duration: 10m }]
service: { manager: process, command: node server.cjs, instances: 2, base_port: ${base}, stop_timeout: 5s }
router: { type: embedded, listen: ${routerPort}, health_interval: 200ms }
health_checks:
  - { url: "http://127.0.0.1:{port}/health", timeout: 20s, interval: 20ms }
analysis:
  interval: ${INTERVAL_S}s
  failure_limit: ${FAILURE_LIMIT}
  min_requests: 50
  metrics:
    - { name: error_rate, max: 1, max_ratio_to_baseline: 2 }
`,
);
const env = { DEPLOYER_HOME: join(ws, 'home') };
const setVersion = (v, failPercent) => {
  writeFileSync(join(app, 'VERSION'), v);
  writeFileSync(join(app, 'FAIL_PERCENT'), String(failPercent));
};

const GOAL_MS = FAILURE_LIMIT * INTERVAL_S * 1000 + 1000;
const runs = [];
try {
  setVersion('v1', 0);
  deployer(['deploy'], { cwd: ws, env });
  for (let i = 0; i < RUNS; i++) {
    const bad = `bad${i + 1}`;
    setVersion(bad, FAIL_PERCENT);
    const l = load(routerPort);
    await new Promise((r) => setTimeout(r, 300));
    const { code, markAt, stderr } = await deployerTimed(['deploy'], { cwd: ws, env }, /canary aborted/);
    await new Promise((r) => setTimeout(r, 300));
    const s = await l.stop();
    const first = s.first.get(bad);
    if (code !== 1 || markAt === null || first === undefined) throw new Error(`run ${i + 1}: expected an aborted canary (exit ${code})\n${stderr}`);
    const inWindow = (t) => t >= first && t <= markAt;
    const windowRequests = s.answeredAt.filter(inWindow).length;
    const windowFailed = s.failedAt.filter(inWindow).length;
    const lateFailed = s.failedAt.filter((t) => t > markAt).length;
    const budget = (WEIGHT / 100) * (FAIL_PERCENT / 100) * windowRequests * (GOAL_MS / (markAt - first));
    runs.push({
      abort_ms: round(markAt - first),
      failed_budget: Math.floor(budget),
      within_budget: windowFailed < budget,
      failed_share_of_run_pct: round((100 * s.failedAt.length) / s.total, 3),
      requests: s.total,
      window_requests: windowRequests,
      window_failed: windowFailed,
      blast_radius_pct: round((100 * windowFailed) / Math.max(1, windowRequests), 3),
      failed_total: s.failedAt.length,
      failed_after_abort: lateFailed,
      last_canary_answer_after_abort_ms: round((s.last.get(bad) ?? markAt) - markAt),
    });
  }
} finally {
  stopRuntimeAndRemove(ws, env);
}

const abortMs = runs.map((r) => r.abort_ms);
report('canary', {
  connections: CONNECTIONS,
  weight_pct: WEIGHT,
  canary_failure_pct: FAIL_PERCENT,
  interval_s: INTERVAL_S,
  failure_limit: FAILURE_LIMIT,
  runs,
  abort_median_ms: round(median(abortMs)),
  abort_max_ms: round(Math.max(...abortMs)),
  goal_abort_ms: GOAL_MS,
  goal_abort_met: Math.max(...abortMs) <= GOAL_MS,
  blast_radius_window_max_pct: Math.max(...runs.map((r) => r.blast_radius_pct)),
  goal_blast_radius_met: runs.every((r) => r.within_budget),
});
