// Router throughput/latency on loopback with wrk: a one-process Node backend measured direct,
// through our router (dist/router.js), through nginx (1 worker) and through HAProxy (1 thread).
// BENCH_DURATION (default 10s), BENCH_WARMUP (default 2s), BENCH_CONNECTIONS (default 50);
// BENCH_ROUTER_NODE_ARGS adds node flags to the router process (e.g. --cpu-prof).
// Usage: node bench/router.mjs (after `node scripts/build.mjs`); writes bench/results/router.json.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ROOT, removeWorkspace, report, round, workspace } from './lib.mjs';

const DURATION = process.env.BENCH_DURATION ?? '10s';
const WARMUP = process.env.BENCH_WARMUP ?? '2s';
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function until(what, fn, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await fn()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const httpGet = (port) =>
  new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', agent: false, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });

const control = (socketPath, method, path, body) =>
  new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(text)) : reject(new Error(`${method} ${path}: ${res.statusCode} ${text}`))));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });

/** wrk --latency: req/s, p50 and p99 in ms, non-2xx and socket errors. */
function wrk(port, duration) {
  const out = execFileSync('wrk', ['-t2', `-c${CONNECTIONS}`, `-d${duration}`, '--latency', `http://127.0.0.1:${port}/`], { encoding: 'utf8', timeout: 120_000 });
  const ms = (label) => {
    const m = new RegExp(`^\\s*${label}%\\s+([\\d.]+)(us|ms|s)\\s*$`, 'm').exec(out);
    if (!m) return null;
    const v = Number(m[1]);
    return round(m[2] === 'us' ? v / 1000 : m[2] === 's' ? v * 1000 : v, 2);
  };
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const errs = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = errs ? errs.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  return { rps: Math.round(rps), p50_ms: ms('50'), p99_ms: ms('99'), non2xx, errors, requests };
}

const TICK_US = 1e6 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU time (user + system, in clock ticks) the processes `pids` have used so far. */
function cpuTicks(pids) {
  let t = 0;
  for (const pid of pids) {
    try {
      // fields after the command name: state is 3rd, utime 14th and stime 15th of the whole line
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      t += Number(f[11]) + Number(f[12]);
    } catch {
      // gone
    }
  }
  return t;
}

/** A pid and its children (nginx's master and worker). */
function withChildren(pid) {
  try {
    return [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number)];
  } catch {
    return [pid];
  }
}

const pidIn = (file) => Number(readFileSync(file, 'utf8').trim());

/**
 * wrk through `port`; with `pids` (the proxy's processes), also the CPU time they spent per
 * request: steadier than req/s on a shared machine, where wrk, the backend and the proxy compete.
 */
function measure(name, port, pids = []) {
  if (WARMUP !== '0' && WARMUP !== '0s') wrk(port, WARMUP);
  const before = cpuTicks(pids);
  const r = wrk(port, DURATION);
  const cpu = pids.length && r.requests ? round(((cpuTicks(pids) - before) * TICK_US) / r.requests, 1) : null;
  console.log(`  ${name}: ${r.rps} req/s, p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms${cpu === null ? '' : `, ${cpu} CPU-µs per request`}${r.non2xx || r.errors ? `, non-2xx ${r.non2xx}, errors ${r.errors}` : ''}`);
  return { ...r, cpu_us_per_request: cpu };
}

const BACKEND = `require('node:http').createServer((q, s) => { s.writeHead(200, { 'content-type': 'text/plain' }); s.end('hello world\\n'); }).listen(Number(process.argv[1]), '127.0.0.1');`;

const dir = workspace('router');
const children = [];
const pidFiles = [];
const spawnChild = (cmd, args, stderr = 'inherit') => {
  const c = spawn(cmd, args, { stdio: ['ignore', 'ignore', stderr] });
  children.push(c);
  return c;
};

function stopAll() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
  for (const f of pidFiles) {
    if (!existsSync(f)) continue;
    const pid = Number(readFileSync(f, 'utf8').trim());
    if (pid > 0) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
}

try {
  const [backendPort, routerPort, nginxPort, haproxyPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  spawnChild(process.execPath, ['-e', BACKEND, String(backendPort)]);
  await until('the backend', async () => (await httpGet(backendPort)) === 200);

  // our router, configured over its control socket
  const sock = join(dir, 'router.sock');
  const routerLog = openSync(join(dir, 'router.log'), 'a');
  const routerProc = spawnChild(process.execPath, [...(process.env.BENCH_ROUTER_NODE_ARGS ?? '').split(' ').filter(Boolean), join(ROOT, 'dist', 'router.js'), '--control', sock], routerLog);
  await until('the router control socket', () => control(sock, 'GET', '/state').then(() => true));
  await control(sock, 'PUT', '/apps/bench', {
    name: 'bench',
    listen: { host: '127.0.0.1', port: routerPort },
    hostnames: [],
    pools: [{ name: 'blue', weight: 100, targets: [{ id: 'blue-0', host: '127.0.0.1', port: backendPort }] }],
    health: { path: '/', intervalMs: 1000, timeoutMs: 1000, unhealthyThreshold: 3, healthyThreshold: 1 },
    stickyCookie: null,
    drainTimeoutMs: 10_000,
    unavailableWaitMs: 5_000,
  });
  const wh = await control(sock, 'GET', '/apps/bench/targets/blue-0/wait-healthy?timeoutMs=5000');
  if (!wh.healthy) throw new Error(`router target not healthy: ${JSON.stringify(wh)}`);

  // nginx: 1 worker, upstream keepalive, everything under dir
  const ngx = join(dir, 'nginx');
  execFileSync('mkdir', ['-p', ngx]);
  writeFileSync(
    join(ngx, 'nginx.conf'),
    `worker_processes 1;
pid ${ngx}/nginx.pid;
error_log ${ngx}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${ngx}/client_temp;
  proxy_temp_path ${ngx}/proxy_temp;
  fastcgi_temp_path ${ngx}/fastcgi_temp;
  uwsgi_temp_path ${ngx}/uwsgi_temp;
  scgi_temp_path ${ngx}/scgi_temp;
  upstream backend { server 127.0.0.1:${backendPort}; keepalive 64; }
  server {
    listen 127.0.0.1:${nginxPort};
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }
}
`,
  );
  pidFiles.push(join(ngx, 'nginx.pid'));
  execFileSync('nginx', ['-p', ngx, '-e', join(ngx, 'error.log'), '-c', join(ngx, 'nginx.conf')], { stdio: 'inherit' });
  await until('nginx', async () => (await httpGet(nginxPort)) === 200);

  // HAProxy: 1 thread, daemonised with its pid file under dir
  const hap = join(dir, 'haproxy');
  execFileSync('mkdir', ['-p', hap]);
  writeFileSync(
    join(hap, 'haproxy.cfg'),
    `global
  nbthread 1
  pidfile ${hap}/haproxy.pid
  stats socket ${hap}/admin.sock mode 600 level admin
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  option http-keep-alive
  option forwardfor
frontend fe
  bind 127.0.0.1:${haproxyPort}
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:${backendPort}
`,
  );
  pidFiles.push(join(hap, 'haproxy.pid'));
  execFileSync('haproxy', ['-D', '-f', join(hap, 'haproxy.cfg')], { stdio: 'inherit' });
  await until('haproxy', async () => (await httpGet(haproxyPort)) === 200);

  console.log(`wrk -t2 -c${CONNECTIONS} -d${DURATION} --latency (warm-up ${WARMUP} each)`);
  const direct = measure('direct', backendPort);
  const router = measure('router', routerPort, [routerProc.pid]);
  const nginx = measure('nginx', nginxPort, withChildren(pidIn(join(ngx, 'nginx.pid'))));
  const haproxy = measure('haproxy', haproxyPort, [pidIn(join(hap, 'haproxy.pid'))]);
  report('router', {
    command: `wrk -t2 -c${CONNECTIONS} -d${DURATION} --latency`,
    direct,
    router,
    nginx,
    haproxy,
    router_vs_nginx_rps: round(router.rps / nginx.rps, 2),
    router_vs_haproxy_rps: round(router.rps / haproxy.rps, 2),
    router_vs_nginx_cpu_per_request: router.cpu_us_per_request && nginx.cpu_us_per_request ? round(router.cpu_us_per_request / nginx.cpu_us_per_request, 2) : null,
    goal_rps_at_least_0_8x_nginx: router.rps >= 0.8 * nginx.rps,
    goal_p99_not_worse_than_nginx: router.p99_ms !== null && nginx.p99_ms !== null && router.p99_ms <= nginx.p99_ms,
  });
} finally {
  stopAll();
  await new Promise((r) => setTimeout(r, 200));
  removeWorkspace(dir);
}
