import type { PoolTargets } from './types.js';

/**
 * Per-server integer weights that give each pool its share of traffic, for routers that weigh
 * servers, not pools (nginx, HAProxy). A pool's share is split evenly over its enabled servers;
 * the result is exact when it fits under `max` (5% to one canary beside two stable servers is
 * 2 and 19, 19), and the nearest split it can express otherwise. Servers of a pool at 0 get 0.
 */
export function serverWeights(pools: PoolTargets[], weights: Record<string, number>, max: number): Map<string, number> {
  const out = new Map<string, number>();
  const live = pools.filter((p) => (weights[p.name] ?? 0) > 0 && p.targets.length > 0);
  for (const p of pools) for (const t of p.targets) out.set(t.id, 0);
  if (live.length === 0) return out;
  const n = live.map((p) => p.targets.length);
  const l = n.reduce(lcm, 1);
  // exact (to 0.01%): weight_p * 100 * l / n_p for each server of p, then divided by the gcd of them all
  const exact = live.map((p, i) => Math.max(1, Math.round((weights[p.name]! * 100 * l) / n[i]!)));
  const g = exact.reduce(gcd, 0);
  let w = exact.map((x) => x / g);
  const top = Math.max(...w);
  if (top > max) w = w.map((x) => Math.max(1, Math.round((x * max) / top)));
  live.forEach((p, i) => {
    for (const t of p.targets) out.set(t.id, w[i]!);
  });
  return out;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function lcm(a: number, b: number): number {
  return (a / gcd(a, b)) * b;
}
