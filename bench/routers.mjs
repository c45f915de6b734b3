// The same deploys through each router, in one run, on loopback: the embedded router, a real nginx
// and a real HAProxy (bench/fronts.mjs), each in front of the bench app run by the process manager.
// Per router:
// - blue-green switch time, BENCH_SWITCH_RUNS times: from the moment the CLI STARTS the switch
//   step (its `[N/M] switch traffic` progress line) to the first answer of the new version seen
//   by a constant load; also the switch step's own duration (start line to its `✔ [N/M]` line);
// - failed requests (non-2xx, socket errors, timeouts) during each deploy, a warm rollback, and a
//   canary (2 short stages, analysis on, promoted); for the canary, the time from the first
//   set-weights step's start to the first answer of the canary version.
// Goals: switch under 10 ms (embedded), 20 ms (HAProxy), 100 ms (nginx); zero failed everywhere.
// The load on nginx retries once a GET whose reused keep-alive connection was reset before any
// answer (a reload closes nginx's idle client connections; browsers retry): counted in `retried`.
// BENCH_SWITCH_RUNS (default 5), BENCH_CONNECTIONS (16), BENCH_PAUSE_MS (5), BENCH_ROUTERS
// (embedded,nginx,haproxy); BENCH_TRACE=1 prints each switch's progress lines with their times.
// Usage: node bench/routers.mjs (after `node scripts/build.mjs`); writes bench/results/routers.json.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { haproxyFront, nginxFront } from './fronts.mjs';
import { constantLoad, deployer, deployerTimed, freeBase, median, removeWorkspace, report, round, workspace, writeFileMkdir } from './lib.mjs';

const SWITCH_RUNS = Number(process.env.BENCH_SWITCH_RUNS ?? 5);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 16);
/**
 * Pause between two requests of one load connection: 16 connections with no pause saturate 2
 * cores, and the CLI doing the switch then waits for CPU. With 5 ms a new request still starts
 * about every 0.4 ms, the resolution of "first answer". BENCH_PAUSE_MS=0 for a saturating load.
 */
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 5);
const ROUTERS = (process.env.BENCH_ROUTERS ?? 'embedded,nginx,haproxy').split(',');
/** no load phase runs longer than this, or sends more requests, whatever happens */
const MAX_LOAD_MS = 120_000;
const MAX_LOAD_REQUESTS = 2_000_000;
const GOAL_MS = { embedded: 10, haproxy: 20, nginx: 100 };
const UPSTREAM = 'bench';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const APP = `const v = require('fs').readFileSync(__dirname + '/VERSION', 'utf8').trim();
const s = require('http').createServer((q, r) => { r.writeHead(200, { 'content-type': 'text/plain' }); r.end(q.url === '/health' ? 'ok' : v); });
s.keepAliveTimeout = 65000;
s.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { s.close(() => process.exit(0)); s.closeIdleConnections(); });
`;

/** A constant load: failures, retries and, per version, the first time it answered. */
function load(port, retryStale) {
  const stats = { total: 0, non2xx: 0, errors: 0, retried: 0, firstSeen: new Map(), errorSamples: [] };
  const sample = (s) => stats.errorSamples.length < 5 && stats.errorSamples.push(s);
  const l = constantLoad(port, {
    connections: CONNECTIONS,
    maxMs: MAX_LOAD_MS,
    maxRequests: MAX_LOAD_REQUESTS,
    retryStale,
    pauseMs: PAUSE_MS,
    onAnswer(status, body, now) {
      stats.total++;
      if (status < 200 || status >= 300) {
        stats.non2xx++;
        sample(`HTTP ${status}: ${body.slice(0, 100)}`);
      } else if (!stats.firstSeen.has(body)) stats.firstSeen.set(body, now);
    },
    onError(e) {
      stats.total++;
      stats.errors++;
      sample(`${e.code ?? e.message}${e.reused ? ' on a reused connection' : ''}${e.retry ? ' (retry)' : ''}`);
    },
    onRetry() {
      stats.retried++;
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

const getOnce = (port) =>
  new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 10_000 }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(res.statusCode === 200 ? b : `HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (e) => resolve(`error: ${e.message}`));
  });

/** The times a step's start line (`[N/M] <title>`) and its end line (`✔ [N/M] ...`) arrived. */
function stepTimes(lines, title) {
  const start = lines.find((l) => new RegExp(`^\\[\\d+/\\d+\\] ${title}`).test(l.line));
  if (!start) return null;
  const n = /^(\[\d+\/\d+\])/.exec(start.line)[1];
  const end = lines.find((l) => l.at >= start.at && l.line.startsWith(`✔ ${n}`));
  return { startAt: start.at, endAt: end?.at ?? null };
}

function manifest(strategy, base, routerYaml) {
  const analysis = strategy === 'canary' ? 'analysis: { interval: 500ms, failure_limit: 2, min_requests: 20, metrics: [{ name: error_rate, max: 1 }] }\n' : '';
  return `name: bench
source: { type: local, path: ./app }
deployment:
  strategy: ${strategy}
  keep_releases: 3
  ${strategy === 'canary' ? 'canary: { stages: [{ weight: 20, duration: 1s }, { weight: 50, duration: 1s }], scale_down_delay: 60s }' : 'blue_green: { scale_down_delay: 60s }'}
service: { manager: process, command: node server.cjs, instances: 2, base_port: ${base}, stop_timeout: 5s }
router: ${routerYaml}
health_checks:
  - { url: "http://127.0.0.1:{port}/health", timeout: 20s, interval: 20ms }
${analysis}`;
}

async function benchRouter(kind) {
  const ws = workspace(`routers-${kind}`);
  const env = { DEPLOYER_HOME: join(ws, 'home') };
  const base = await freeBase([0, 1, 2, 100, 101, 102, 500]);
  const port = base + 500;
  const front = kind === 'nginx' ? nginxFront(join(ws, 'nginx'), port, UPSTREAM) : kind === 'haproxy' ? haproxyFront(join(ws, 'haproxy'), port, UPSTREAM) : null;
  const routerYaml = front ? front.yaml : `{ type: embedded, listen: ${port}, health_interval: 200ms }`;
  const retryStale = kind === 'nginx';
  writeFileMkdir(join(ws, 'app', 'server.cjs'), APP);
  let version = 0;
  const nextVersion = () => {
    version++;
    writeFileSync(join(ws, 'app', 'VERSION'), `v${version}`);
    return `v${version}`;
  };
  const useStrategy = (s) => writeFileSync(join(ws, 'deploy.yml'), manifest(s, base, routerYaml));
  const run = async (args) => {
    const r = await deployerTimed(args, { cwd: ws, env });
    if (r.code !== 0) throw new Error(`${kind}: deployer ${args.join(' ')} exited ${r.code}\n${r.stderr}`);
    return r;
  };
  /** One CLI operation under load, what it saw, and the version served after. */
  const underLoad = async (label, args, expect) => {
    const l = load(port, retryStale);
    await sleep(200);
    const r = await run(args);
    await sleep(200);
    const s = await l.stop();
    const after = await getOnce(port);
    const op = { operation: label, requests: s.total, failed: s.non2xx + s.errors, non2xx: s.non2xx, socket_errors: s.errors, retried: s.retried, serves_expected_after: after === expect, ...(after === expect ? {} : { served_after: after }), ...(s.errorSamples.length ? { samples: s.errorSamples } : {}) };
    return { op, r, s };
  };

  const out = { router: kind, switch_ms: [], switch_step_ms: [], operations: [] };
  try {
    useStrategy('blue-green');
    nextVersion();
    if (front) {
      deployer(['router', 'init'], { cwd: ws, env });
      await front.start();
    }
    deployer(['deploy'], { cwd: ws, env });
    for (let i = 0; i < SWITCH_RUNS; i++) {
      const v = nextVersion();
      const { op, r, s } = await underLoad(`blue-green deploy #${i + 1}`, ['deploy'], v);
      const t = stepTimes(r.lines, 'switch traffic');
      const first = s.firstSeen.get(v);
      if (t && first !== undefined) out.switch_ms.push(first - t.startAt);
      if (t?.endAt) out.switch_step_ms.push(t.endAt - t.startAt);
      if (process.env.BENCH_TRACE && t) {
        const near = r.lines.filter((l) => l.at >= t.startAt && l.at <= (t.endAt ?? t.startAt) + 1);
        console.error(`${kind} #${i + 1}: ${near.map((l) => `+${round(l.at - t.startAt)} ${l.line.slice(0, 40)}`).join(' | ')} | first ${v} +${first === undefined ? '-' : round(first - t.startAt)}`);
      }
      out.operations.push(op);
    }
    out.operations.push((await underLoad('blue-green rollback (warm slot)', ['rollback'], `v${version - 1}`)).op);

    useStrategy('canary');
    const v = nextVersion();
    const { op, r, s } = await underLoad('canary deploy (20% then 50%, analysis on, promoted)', ['deploy'], v);
    // the first stage's set-weights step: `[N/M] weights blue 20%, green 80% (canary stage 1)`
    const t = stepTimes(r.lines, 'weights ');
    const first = s.firstSeen.get(v);
    out.canary_first_answer_ms = t && first !== undefined ? round(first - t.startAt) : null;
    out.canary_set_weights_step_ms = t?.endAt ? round(t.endAt - t.startAt) : null;
    out.operations.push(op);
  } finally {
    try {
      deployer(['runtime', 'stop'], { cwd: ws, env });
    } catch (e) {
      console.error(e.message);
    }
    if (front) await front.stop().catch((e) => console.error(`${kind}: ${e.message}`));
    removeWorkspace(ws);
  }
  const failed = out.operations.reduce((n, o) => n + o.failed, 0);
  const med = out.switch_ms.length ? median(out.switch_ms) : null;
  return {
    router: kind,
    switch_median_ms: med === null ? null : round(med),
    switch_max_ms: out.switch_ms.length ? round(Math.max(...out.switch_ms)) : null,
    switch_samples_ms: out.switch_ms.map((x) => round(x)),
    switch_step_median_ms: out.switch_step_ms.length ? round(median(out.switch_step_ms)) : null,
    switch_step_samples_ms: out.switch_step_ms.map((x) => round(x)),
    canary_first_answer_ms: out.canary_first_answer_ms,
    canary_set_weights_step_ms: out.canary_set_weights_step_ms,
    failed_requests: failed,
    retried: out.operations.reduce((n, o) => n + o.retried, 0),
    requests: out.operations.reduce((n, o) => n + o.requests, 0),
    all_serve_expected_after: out.operations.every((o) => o.serves_expected_after),
    goal_switch_ms: GOAL_MS[kind],
    goal_switch_met: med !== null && out.switch_ms.length === SWITCH_RUNS && med < GOAL_MS[kind],
    goal_zero_failed: failed === 0,
    operations: out.operations,
  };
}

const results = [];
let crashed = false;
for (const kind of ROUTERS) {
  try {
    results.push(await benchRouter(kind));
  } catch (e) {
    crashed = true;
    console.error(e.stack ?? e.message);
    results.push({ router: kind, error: String(e.message).slice(0, 2000), goal_switch_met: false, goal_zero_failed: false });
  }
}

console.log('\n| router | switch median (max) ms | switch step ms | canary set-weights -> first answer ms | failed | retried | requests | goals |');
console.log('|---|---|---|---|---|---|---|---|');
for (const r of results) {
  if (r.error) {
    console.log(`| ${r.router} | error: ${r.error.split('\n')[0]} | | | | | | no |`);
    continue;
  }
  console.log(
    `| ${r.router} | ${r.switch_median_ms} (${r.switch_max_ms}) | ${r.switch_step_median_ms} | ${r.canary_first_answer_ms} | ${r.failed_requests} | ${r.retried} | ${r.requests} | switch < ${r.goal_switch_ms} ms: ${r.goal_switch_met ? 'yes' : 'NO'}, zero failed: ${r.goal_zero_failed ? 'yes' : 'NO'} |`,
  );
}
report('routers', {
  connections: CONNECTIONS,
  pause_ms: PAUSE_MS,
  switch_runs: SWITCH_RUNS,
  routers: results,
  goals_met: results.every((r) => r.goal_switch_met && r.goal_zero_failed),
});
process.exit(crashed ? 1 : 0);
