// `deployer rollback` end to end (goal: under 1 s), on a small app with a script restart and an
// HTTP health check, like a real one.
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { deployer, median, removeWorkspace, report, round, workspace, writeFileMkdir } from './lib.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);

const port = await new Promise((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => resolve(p));
  });
});

const ws = workspace('rollback');
const app = join(ws, 'app');
writeFileMkdir(join(app, 'server.cjs'), `require('http').createServer((q, s) => s.end(require('fs').readFileSync(__dirname + '/VERSION'))).listen(${port}, '127.0.0.1');\n`);
writeFileMkdir(
  join(app, 'bin', 'restart'),
  `#!/bin/sh
P="$DEPLOY_APP_ROOT/shared/app.pid"
if [ -f "$P" ]; then o=$(cat "$P"); kill "$o" 2>/dev/null; i=0; while [ -r /proc/$o/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$o/status && [ $i -lt 100 ]; do sleep 0.01; i=$((i+1)); done; fi
nohup node server.cjs > /dev/null 2>&1 < /dev/null &
echo $! > "$P"
`,
);
chmodSync(join(app, 'bin', 'restart'), 0o755);
writeFileSync(
  join(ws, 'deploy.yml'),
  `name: rb
source: { type: local, path: ./app }
service: { manager: script, base_port: ${port}, restart_command: ./bin/restart }
health_checks:
  - { url: "http://127.0.0.1:{port}/", timeout: 10s, interval: 20ms }
`,
);
const env = { DEPLOYER_HOME: join(ws, 'home') };
const times = [];
try {
  for (const v of ['1', '2']) {
    writeFileSync(join(app, 'VERSION'), v);
    deployer(['deploy'], { cwd: ws, env });
  }
  for (let i = 0; i < RUNS; i++) {
    // alternate: rollback goes to the other release, roll forward comes back
    times.push(deployer(i % 2 === 0 ? ['rollback'] : ['rollback', '--forward'], { cwd: ws, env }).ms);
  }
} finally {
  try {
    const pid = Number((await import('node:fs')).readFileSync(join(ws, 'home', 'apps', 'rb', 'shared', 'app.pid'), 'utf8'));
    process.kill(pid, 'SIGKILL');
  } catch {
    /* not running */
  }
  removeWorkspace(ws);
}
const med = median(times);
report('rollback', { runs: RUNS, rollback_median_ms: round(med), rollback_max_ms: round(Math.max(...times)), goal_under_1s: med < 1000, samples: times.map((x) => round(x)) });
