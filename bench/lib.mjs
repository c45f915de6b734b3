// Shared helpers for the benchmarks: temp workspaces, the built CLI, timing, JSON results.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const BIN = join(ROOT, 'bin', 'deployer.js');
export const RESULTS = join(ROOT, 'bench', 'results');

export function workspace(name) {
  return realpathSync(mkdtempSync(join(tmpdir(), `bench-${name}-`)));
}

export function removeWorkspace(dir) {
  rmSync(dir, { recursive: true, force: true });
}

/** Runs the CLI; throws with its output when it fails. Returns wall time in ms. */
export function deployer(args, { cwd, env }) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env }, encoding: 'utf8' });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`deployer ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return { ms, stdout: r.stdout, stderr: r.stderr };
}

/** Stops the runtime a benchmark started (its DEPLOYER_HOME in env) and removes the workspace. */
export function stopRuntimeAndRemove(ws, env) {
  try {
    deployer(['runtime', 'stop'], { cwd: ws, env });
  } catch (e) {
    console.error(e.message);
  }
  removeWorkspace(ws);
}

export function time(fn) {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

export function sh(cmd, args, opts = {}) {
  return execFileSync(cmd, args, { encoding: 'utf8', ...opts });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Writes one benchmark's figures as JSON and prints them. */
export function report(name, figures) {
  mkdirSync(RESULTS, { recursive: true });
  const out = { benchmark: name, date: new Date().toISOString(), node: process.version, ...figures };
  writeFileSync(join(RESULTS, `${name}.json`), `${JSON.stringify(out, null, 2)}\n`);
  console.log(`\n## ${name}`);
  for (const [k, v] of Object.entries(figures)) console.log(`  ${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  return out;
}

export function writeFileMkdir(path, data) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, data);
}

const canListen = (port) =>
  new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

/** A base port such that base + each offset is free on loopback now. */
export async function freeBase(offsets) {
  for (let i = 0; i < 100; i++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    if ((await Promise.all(offsets.map((o) => canListen(base + o)))).every(Boolean)) return base;
  }
  throw new Error('no free port range');
}

/**
 * Constant load through a router on loopback: `connections` keep-alive loops, each sending the
 * next GET / when the last one ends (after `pauseMs`, default 0), for at most `maxMs` and `maxRequests`. Every answer and error
 * is handed to the caller with its time (performance.now()).
 *
 * `retryStale`: a GET whose REUSED keep-alive connection was closed before any byte of the answer
 * (ECONNRESET, EPIPE) is sent once more on a new connection, as browsers and most HTTP clients do
 * (RFC 9112 §9.3.1); nginx closes its idle client connections on every reload. Such retries are counted by `onRetry`
 * and are not errors; a second failure is.
 */
export function constantLoad(port, { connections, maxMs = 120_000, maxRequests = 2_000_000, retryStale = false, pauseMs = 0, onAnswer, onError, onRetry = () => {} }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let running = true;
  let sent = 0;
  const started = performance.now();
  const one = (mayRetry, fresh = false) =>
    new Promise((resolve) => {
      sent++;
      let answered = false;
      // the retry goes on a new connection: another idle one of the agent may be closing too
      const req = http.get({ host: '127.0.0.1', port, path: '/', agent: fresh ? false : agent, timeout: 15_000 }, (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => {
          onAnswer(res.statusCode, body, performance.now());
          resolve();
        });
        res.on('error', (e) => {
          onError(e, performance.now());
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (e) => {
        if (mayRetry && !answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          onRetry(e, performance.now());
          resolve(one(false, true));
          return;
        }
        if (!e.code) e.code = e.message;
        e.reused = req.reusedSocket;
        e.retry = fresh;
        onError(e, performance.now());
        resolve();
      });
    });
  const loops = Array.from({ length: connections }, async () => {
    while (running && performance.now() - started < maxMs && sent < maxRequests) {
      await one(retryStale);
      if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/**
 * Runs the CLI with its progress on stderr; resolves when it exits: its code, when a line matching
 * `mark` appeared, and every stderr line with the time it arrived (performance.now()).
 */
export function deployerTimed(args, { cwd, env, timeoutMs = 300_000 }, mark) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { ...process.env, CI: 'true', NO_COLOR: '1', ...env } });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    let markAt = null;
    let stderr = '';
    let buf = '';
    const lines = [];
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d) => {
      const now = performance.now();
      stderr += d;
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        lines.push({ at: now, line });
        if (markAt === null && mark && mark.test(line)) markAt = now;
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, markAt, stderr, lines });
    });
  });
}
