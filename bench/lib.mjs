// Shared helpers for the benchmarks: temp workspaces, the built CLI, timing, JSON results.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
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
