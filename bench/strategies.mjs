// Zero-downtime figures of the embedded runtime, on loopback:
// - blue-green switch time: from the moment the CLI starts the switch step to the first response
//   from the new version through the router (goal: under 50 ms);
// - failed requests (non-2xx or socket errors) under constant load during each strategy's deploy
//   and rollback, a promoted canary included (goal: 0).
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { constantLoad, deployer, deployerTimed, freeBase, median, report, round, stopRuntimeAndRemove, workspace, writeFileMkdir } from './lib.mjs';

const SWITCH_RUNS = Number(process.env.BENCH_SWITCH_RUNS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/** no load phase runs longer than this, whatever happens */
const MAX_LOAD_MS = 120_000;

/** Failures and, per version, the first time it answered. */
function load(port) {
  const stats = { total: 0, non2xx: 0, errors: 0, firstSeen: new Map(), errorSamples: [] };
  const l = constantLoad(port, {
    connections: CONNECTIONS,
    maxMs: MAX_LOAD_MS,
    onAnswer(status, body, now) {
      stats.total++;
      if (status < 200 || status >= 300) {
        stats.non2xx++;
        if (stats.errorSamples.length < 5) stats.errorSamples.push(`HTTP ${status}: ${body.slice(0, 100)}`);
      } else if (!stats.firstSeen.has(body)) stats.firstSeen.set(body, now);
    },
    onError(e) {
      stats.total++;
      stats.errors++;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(e.message);
    },
  });
  return {
    stats,
    async stop() {
      await l.stop();
      return stats;
    },
  };
}

/** The CLI, which must succeed; the time the line matching `mark` appeared. */
async function deployerOk(args, opts, mark) {
  const r = await deployerTimed(args, opts, mark);
  if (r.code !== 0) throw new Error(`deployer ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
  return r;
}

const base = await freeBase([0, 1, 2, 100, 101, 102, 500]);
const routerPort = base + 500;
const ws = workspace('strategies');
const app = join(ws, 'app');
writeFileMkdir(
  join(app, 'server.cjs'),
  `const v = require('fs').readFileSync(__dirname + '/VERSION', 'utf8').trim();
const s = require('http').createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/plain' }); r.end(q.url === '/health' ? 'ok' : v); });
s.keepAliveTimeout = 65000;
s.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { s.close(() => process.exit(0)); s.closeIdleConnections(); });
`,
);
const manifest = (strategy) => `name: bench
source: { type: local, path: ./app }
deployment:
  strategy: ${strategy}
  keep_releases: 3
  blue_green: { scale_down_delay: 60s }
  rolling: { batch_size: 1, batch_delay: 0s, max_unavailable: 1, drain_timeout: 5s }
  canary: { stages: [{ weight: 20, duration: 2s }, { weight: 50, duration: 2s }], scale_down_delay: 60s }
service: { manager: process, command: node server.cjs, instances: ${strategy === 'rolling' ? 3 : 2}, base_port: ${base}, stop_timeout: 5s }
router: { type: embedded, listen: ${routerPort}, health_interval: 200ms }
health_checks:
  - { url: "http://127.0.0.1:{port}/health", timeout: 20s, interval: 20ms }
${strategy === 'canary' ? 'analysis: { interval: 500ms, failure_limit: 2, min_requests: 50, metrics: [{ name: error_rate, max: 1 }, { name: latency_p99_ms, max: 500 }] }\n' : ''}`;
const env = { DEPLOYER_HOME: join(ws, 'home') };
let version = 0;
const nextVersion = () => {
  version++;
  writeFileSync(join(app, 'VERSION'), `v${version}`);
  return `v${version}`;
};
const useStrategy = (s) => writeFileSync(join(ws, 'deploy.yml'), manifest(s));

/** One operation under load: the failures seen, and whether the expected version serves after. */
async function underLoad(label, args, expectVersion) {
  const l = load(routerPort);
  await new Promise((r) => setTimeout(r, 300));
  await deployerOk(args, { cwd: ws, env });
  await new Promise((r) => setTimeout(r, 300));
  const s = await l.stop();
  const after = await new Promise((resolve) => http.get({ host: '127.0.0.1', port: routerPort, path: '/', agent: false }, (res) => {
    let b = '';
    res.on('data', (d) => (b += d));
    res.on('end', () => resolve(b));
  }).on('error', (e) => resolve(`error: ${e.message}`)));
  return { operation: label, requests: s.total, non2xx: s.non2xx, socket_errors: s.errors, failed: s.non2xx + s.errors, serves_expected_after: after === expectVersion, ...(s.errorSamples.length ? { samples: s.errorSamples } : {}) };
}

const failures = [];
const switchMs = [];
try {
  // blue-green: switch times, then failures during deploy and rollback
  useStrategy('blue-green');
  nextVersion();
  deployer(['deploy'], { cwd: ws, env });
  for (let i = 0; i < SWITCH_RUNS; i++) {
    const v = nextVersion();
    const l = load(routerPort);
    await new Promise((r) => setTimeout(r, 200));
    const { markAt } = await deployerOk(['deploy'], { cwd: ws, env }, /^\[\d+\/\d+\] switch traffic/);
    const s = await l.stop();
    const first = s.firstSeen.get(v);
    if (markAt !== null && first !== undefined) switchMs.push(first - markAt);
    failures.push({ operation: `blue-green deploy #${i + 1}`, requests: s.total, failed: s.non2xx + s.errors });
  }
  failures.push(await underLoad('blue-green rollback (warm slot)', ['rollback'], `v${version - 1}`));
  failures.push(await underLoad('blue-green deploy', ['deploy'], nextVersion()));

  // rolling over 3 instances
  useStrategy('rolling');
  failures.push(await underLoad('rolling deploy (3 instances)', ['deploy'], nextVersion()));
  failures.push(await underLoad('rolling deploy (3 instances) again', ['deploy'], nextVersion()));
  failures.push(await underLoad('rolling rollback', ['rollback'], `v${version - 1}`));

  // recreate with the process manager: downtime allowed, the router holds requests meanwhile
  // canary: a healthy release walks two stages, analysed every 500 ms, and is promoted
  useStrategy('canary');
  const beforeCanary = `v${version - 1}`; // the rolling rollback's
  failures.push(await underLoad('canary deploy (20% then 50%, promoted)', ['deploy'], nextVersion()));
  failures.push(await underLoad('canary rollback (warm slot)', ['rollback'], beforeCanary));

  useStrategy('recreate');
  failures.push(await underLoad('recreate deploy', ['deploy'], nextVersion()));
} finally {
  stopRuntimeAndRemove(ws, env);
}

const totalFailed = failures.reduce((n, f) => n + f.failed, 0);
report('strategies', {
  connections: CONNECTIONS,
  switch_runs: SWITCH_RUNS,
  blue_green_switch_median_ms: switchMs.length ? round(median(switchMs)) : null,
  blue_green_switch_max_ms: switchMs.length ? round(Math.max(...switchMs)) : null,
  switch_samples_ms: switchMs.map((x) => round(x)),
  goal_switch_under_50ms: switchMs.length > 0 && median(switchMs) < 50,
  operations: failures,
  failed_requests_total: totalFailed,
  goal_zero_failed: totalFailed === 0,
});
