// Waiting for the machine to settle before a timed run of the fleet benchmark (every tool, equally).
// Removing a 2,000-file tree on 20 hosts leaves the kernel deferred work (writeback, ext4 `discard`)
// that otherwise lands inside the next timed run. So: `sync`, then poll /proc/stat every 200 ms and
// go once one 1-second window shows the CPUs at least 80% idle (iowait counted as busy); give up
// after 15 s and say so.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { round } from './lib.mjs';

export const SETTLE = Object.freeze({ idle: 0.8, windowMs: 1000, pollMs: 200, maxMs: 15_000 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The aggregate `cpu` line of /proc/stat: { idle, total } in ticks; iowait is not idle. */
function cpuTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  // user nice system idle iowait irq softirq steal (guest, guest_nice are inside user, nice)
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  return { idle: f[3], total: f.reduce((a, b) => a + b, 0) };
}

/**
 * `sync`, then waits until one window of SETTLE.windowMs shows the CPUs at least SETTLE.idle idle,
 * at most SETTLE.maxMs in all. Returns { waitS (sync included), syncS, settled, idle (the last
 * window's idle fraction) }.
 */
export async function settle({ idle = SETTLE.idle, windowMs = SETTLE.windowMs, pollMs = SETTLE.pollMs, maxMs = SETTLE.maxMs } = {}) {
  const t0 = performance.now();
  spawnSync('sync', { stdio: 'ignore', timeout: maxMs });
  const syncMs = performance.now() - t0;
  const samples = [{ t: performance.now(), ...cpuTicks() }];
  let last = null;
  for (;;) {
    await sleep(pollMs);
    const now = { t: performance.now(), ...cpuTicks() };
    samples.push(now);
    // the newest sample at least one window back
    let from = null;
    for (const s of samples) if (now.t - s.t >= windowMs - pollMs / 4) from = s;
    if (from && now.total > from.total) {
      last = (now.idle - from.idle) / (now.total - from.total);
      if (last >= idle) return { waitS: round((now.t - t0) / 1000, 2), syncS: round(syncMs / 1000, 2), settled: true, idle: round(last, 2) };
    }
    if (now.t - t0 >= maxMs) return { waitS: round((now.t - t0) / 1000, 2), syncS: round(syncMs / 1000, 2), settled: false, idle: last == null ? null : round(last, 2) };
  }
}
