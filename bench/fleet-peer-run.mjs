// Fleet benchmark, running the peers' commands: one timed process per command (after the machine
// settles, bench/fleet-settle.mjs), its output appended to a log under WORK/logs, and the helpers
// the peers share (the first n hosts, wiping a deploy_to on every host).
import { spawn } from 'node:child_process';
import { appendFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './lib.mjs';
import { settle } from './fleet-settle.mjs';

const RUN_TIMEOUT_MS = 15 * 60_000;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let lastEnd = 0;
/** Both peers name releases by UTC second: never start a run in the second the last one ended. */
export async function nextSecond() {
  for (let k = 0; k < 40 && Math.floor(Date.now() / 1000) <= Math.floor(lastEnd / 1000); k++) await sleep(50);
}

/**
 * Runs one peer command once the machine has settled (untimed), timed from spawn to exit.
 * Resolves { code, ms, out, settle }; rejects on a non-zero exit unless allowFail.
 */
export async function run(cmd, args, opts) {
  const st = await settle();
  return { ...(await spawnTimed(cmd, args, opts)), settle: st };
}

function spawnTimed(cmd, args, { cwd, env, log, label, allowFail = false }) {
  return new Promise((resolve, reject) => {
    appendFileSync(log, `\n===== ${new Date().toISOString()} ${label}: ${cmd} ${args.join(' ')}\n`);
    let out = '';
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd, env: { ...process.env, NO_COLOR: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    const take = (d) => {
      out += d;
      appendFileSync(log, d);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      lastEnd = Date.now();
      appendFileSync(log, `===== exit ${code ?? signal} after ${round(ms / 1000, 2)} s\n`);
      if (code !== 0 && !allowFail) reject(new Error(`${label} failed (exit ${code ?? signal}); log ${log}:\n${out.slice(-3000)}`));
      else resolve({ code, ms, out });
    });
  });
}

export const firstN = (hosts, n = hosts.n) => {
  if (n > hosts.n) throw new Error(`asked for ${n} hosts, ${hosts.n} are up`);
  return hosts.addrs.slice(0, n);
};

/** Wipes a peer's deploy_to on every bench host (from this machine, through srv(i)). */
export function wipe(hosts, sub) {
  for (let i = 1; i <= hosts.n; i++) rmSync(join(hosts.srv(i), sub), { recursive: true, force: true });
}
