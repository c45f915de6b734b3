// Fleet benchmark, Deployer's side of a run: the workspace (a short DEPLOYER_HOME, where the
// ControlMaster sockets live; the release; a copy of the CLI), one timed CLI process (after the
// machine settles, bench/fleet-settle.mjs), the manifests, what is on a host, and the checks that
// a run did what it says.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { settle } from './fleet-settle.mjs';
import { CHANGED_FILE, WORKLOAD } from './fleet-workload.mjs';
import { ROOT, median, round } from './lib.mjs';

export const PARALLEL = 20;
export const APP_ROOT = '/srv/bench/deployer';
const RUN_TIMEOUT_MS = 5 * 60_000;
export const s2 = (ms) => round(ms / 1000, 2);

/**
 * The run's state: the workspace's paths and build (makeWorkspace), the bench hosts once up
 * (hosts), and the CLI process running now, if any (child).
 */
export const ctx = { ws: null, home: null, cmDir: null, appDir: null, CLI: null, build: null, hosts: null, child: null };

/** Makes the workspace under /tmp/dfb-* with a copy of dist/ as it is now. */
export function makeWorkspace() {
  const ws = mkdtempSync('/tmp/dfb-');
  const cliDir = join(ws, 'cli');
  Object.assign(ctx, { ws, home: join(ws, 'h'), cmDir: join(ws, 'h', 'cm'), appDir: join(ws, 'app') });
  mkdirSync(ctx.home);
  // a copy of dist/ as it is now: the same build for every run (and the same agent on the hosts),
  // whatever happens to dist/ meanwhile; dist/ is self-contained (esbuild bundle)
  cpSync(join(ROOT, 'dist'), join(cliDir, 'dist'), { recursive: true, filter: (src) => !src.endsWith('.map') });
  ctx.CLI = join(cliDir, 'dist', 'cli.js');
  ctx.build = {
    head: spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).stdout.trim(),
    dirty: spawnSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean),
    dist_built: statSync(join(ROOT, 'dist', 'cli.js')).mtime.toISOString(),
  };
}

/**
 * One CLI process, timed from spawn to exit (performance.now() around it), started once the
 * machine has settled (untimed; then beforeSpawn(), whose result is kept as `before`). Every
 * stderr line is kept with its arrival time (ms since spawn), which gives the phases of a run for
 * free. Resolves { code, ms, t0 (spawn time), stdout, stderr, lines, json, settle, before }.
 */
export async function cli(args, { manifest = 'deploy.yml', beforeSpawn } = {}) {
  const st = await settle();
  const before = beforeSpawn ? beforeSpawn() : undefined;
  return { ...(await spawnCli(args, manifest)), settle: st, before };
}

function spawnCli(args, manifest) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = spawn(process.execPath, [ctx.CLI, ...args, '-f', manifest, '--json'], {
      cwd: ctx.ws,
      env: { ...process.env, DEPLOYER_HOME: ctx.home, CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    ctx.child = c;
    let stdout = '';
    let stderr = '';
    let buf = '';
    const lines = [];
    const timer = setTimeout(() => c.kill('SIGKILL'), RUN_TIMEOUT_MS);
    c.stdout.setEncoding('utf8');
    c.stderr.setEncoding('utf8');
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => {
      const t = performance.now() - t0;
      stderr += d;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        lines.push({ t, text: buf.slice(0, i) });
        buf = buf.slice(i + 1);
      }
    });
    c.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      clearTimeout(timer);
      ctx.child = null;
      let json = null;
      for (const l of stdout.trim().split('\n').reverse()) {
        try {
          json = JSON.parse(l);
          break;
        } catch {
          // not the result line
        }
      }
      resolve({ code: code ?? signal, ms, t0, stdout, stderr, lines, json });
    });
  });
}

export const hostList = (n) => Array.from({ length: n }, (_, k) => `h${k + 1}`);

export function writeManifest(file, { name, n, appRoot, extra = '' }) {
  writeFileSync(
    join(ctx.ws, file),
    `name: ${name}
source: { type: local, path: ${ctx.appDir} }
hosts: [${hostList(n).join(', ')}]
deployment: { strategy: recreate, app_root: ${appRoot} }
service: { manager: none }
router: { type: none }
ssh: { config_file: ${ctx.hosts.configFile}, parallel: ${PARALLEL} }
${extra}`,
  );
}

/** A path on bench host i (must be under /srv), seen from this machine. */
export const onHost = (i, path) => {
  if (!path.startsWith('/srv/')) throw new Error(`${path} is not under /srv`);
  return join(ctx.hosts.srv(i), path.slice('/srv/'.length));
};
export const currentOn = (i, root = APP_ROOT) => {
  try {
    return basename(readlinkSync(onHost(i, `${root}/current`)));
  } catch {
    return null;
  }
};
export const firstLine = (file) => readFileSync(file, 'latin1').split('\n', 1)[0];
const countFiles = (dir) => readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;

/** Removes the app from every bench host (untimed): the next deploy is a fresh one. */
export function resetHosts(root = APP_ROOT, n = ctx.hosts.n) {
  for (let i = 1; i <= n; i++) rmSync(onHost(i, root), { recursive: true, force: true });
}

/** How many of our ControlMaster connections answer now. */
export function openMasters() {
  if (!existsSync(ctx.cmDir)) return 0;
  let open = 0;
  for (const f of readdirSync(ctx.cmDir)) {
    const r = spawnSync('ssh', ['-o', `ControlPath=${join(ctx.cmDir, f)}`, '-O', 'check', 'dummy'], { stdio: 'ignore', timeout: 5_000 });
    if (r.status === 0) open++;
  }
  return open;
}

/**
 * A benchmark of a broken deploy is worthless: the run must exit 0 with every host `succeeded`
 * on `release`, and on every host `current` must point at it, with the changed file's first line
 * as the release had it and (on the last host) the whole tree there.
 */
export function verify(label, r, n, { release, line, fullTree = false }) {
  const fail = (why) => {
    throw new Error(`${label}: ${why}\nexit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-4000)}`);
  };
  if (r.code !== 0) fail(`exited ${r.code}`);
  if (!r.json) fail('no --json result line');
  if (r.json.result !== 'succeeded') fail(`result ${r.json.result}`);
  const want = release ?? r.json.release;
  const hs = r.json.hosts ?? [];
  if (hs.length !== n) fail(`${hs.length} hosts in the result, expected ${n}`);
  for (const h of hs) if (h.result !== 'succeeded' || h.release !== want) fail(`${h.host}: ${h.result} ${h.release} (expected succeeded ${want})`);
  for (let i = 1; i <= n; i++) {
    const cur = currentOn(i);
    if (cur !== want) fail(`h${i}: current is ${cur}, expected ${want}`);
    const got = firstLine(onHost(i, `${APP_ROOT}/releases/${want}/${CHANGED_FILE}`));
    if (got !== line) fail(`h${i}: ${CHANGED_FILE} starts ${JSON.stringify(got)}, expected ${JSON.stringify(line)}`);
  }
  if (fullTree) {
    const files = countFiles(onHost(n, `${APP_ROOT}/releases/${want}`));
    if (files < WORKLOAD.files) fail(`h${n}: ${files} files in the release, expected at least ${WORKLOAD.files}`);
  }
  return want;
}

/**
 * Where a run's time went, from its stderr lines' arrival: the fleet's own lines (connecting,
 * locks, upload...) and, per step title, when the first and the last host reported it.
 */
export function phases(r) {
  const fleet = [];
  const steps = new Map();
  const other = new Set();
  for (const { t, text } of r.lines) {
    const m = /^(\S+)\s+(.*)$/.exec(text);
    if (m && m[1] === 'fleet') fleet.push(`${s2(t)} s ${m[2]}`);
    else if (m && /^h\d+$/.test(m[1]) && /^[✔✖!↩-] /.test(m[2])) {
      // a host's step end: "✔ title 1.2s"
      const d = /\s(\d+(?:\.\d+)?)(ms|s)$/.exec(m[2]);
      const title = m[2].replace(/\s+\d+(\.\d+)?(ms|s)$/, '').replace(/ \d{8}_\d{6}/g, ' <release>').replace(/; live: \S+/, '');
      const e = steps.get(title) ?? { first: t, last: t, hosts: 0, durations: [] };
      e.last = t;
      e.hosts++;
      if (d) e.durations.push(d[2] === 'ms' ? Number(d[1]) : Number(d[1]) * 1000);
      steps.set(title, e);
    } else if (!m || !/^h\d+$/.test(m[1])) other.add(text.slice(0, 200));
  }
  return {
    wall_s: s2(r.ms),
    cli_reported_s: r.json?.duration_ms != null ? s2(r.json.duration_ms) : null,
    fleet,
    steps: [...steps].map(([title, e]) => `${title}: ${e.hosts} host(s) done ${s2(e.first)}-${s2(e.last)} s${e.durations.length ? `, step took ${s2(median(e.durations))} s (median)` : ''}`),
    upload_s_median: r.json?.hosts?.some((h) => h.upload) ? s2(median(r.json.hosts.filter((h) => h.upload).map((h) => h.upload.ms))) : null,
    upload_s_max: r.json?.hosts?.some((h) => h.upload) ? s2(Math.max(...r.json.hosts.filter((h) => h.upload).map((h) => h.upload.ms))) : null,
    other_stderr: [...other].slice(0, 5),
  };
}
