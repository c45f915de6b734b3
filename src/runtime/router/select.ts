// Choosing where a request goes: a pool by weight (or by its sticky cookie), then a target of
// that pool round-robin. Pure functions over small structures; no allocation per request.
import type { TargetState } from '../model.js';

export interface SelectableTarget {
  state: TargetState;
}

export interface SelectablePool<T extends SelectableTarget> {
  targets: T[];
  /** round-robin cursor */
  rr: number;
}

/** Whether the pool has a target in rotation other than `exclude`. */
export function hasRoutable<T extends SelectableTarget>(pool: SelectablePool<T>, exclude: T | null): boolean {
  const ts = pool.targets;
  for (let i = 0; i < ts.length; i++) {
    const t = ts[i]!;
    if (t.state === 'healthy' && t !== exclude) return true;
  }
  return false;
}

/**
 * Weighted-random pick among pools with weight > 0 and a routable target; -1 when there is none.
 * `r` is a number in [0, 1).
 */
export function pickPool<T extends SelectableTarget>(pools: readonly SelectablePool<T>[], weights: readonly number[], r: number, exclude: T | null): number {
  let total = 0;
  for (let i = 0; i < pools.length; i++) {
    const w = weights[i] ?? 0;
    if (w > 0 && hasRoutable(pools[i]!, exclude)) total += w;
  }
  if (total <= 0) return -1;
  let x = r * total;
  let last = -1;
  for (let i = 0; i < pools.length; i++) {
    const w = weights[i] ?? 0;
    if (w > 0 && hasRoutable(pools[i]!, exclude)) {
      last = i;
      x -= w;
      if (x < 0) return i;
    }
  }
  return last;
}

/** Next healthy target of the pool in round-robin order (advancing the cursor), or null. */
export function pickTarget<T extends SelectableTarget>(pool: SelectablePool<T>, exclude: T | null): T | null {
  const ts = pool.targets;
  const n = ts.length;
  for (let k = 0; k < n; k++) {
    const idx = (pool.rr + k) % n;
    const t = ts[idx]!;
    if (t.state === 'healthy' && t !== exclude) {
      pool.rr = idx + 1;
      return t;
    }
  }
  return null;
}

/** How many pools currently get traffic (weight > 0). */
export function weightedPools(weights: readonly number[]): number {
  let n = 0;
  for (let i = 0; i < weights.length; i++) if ((weights[i] ?? 0) > 0) n++;
  return n;
}

/** The value of cookie `name` in a Cookie header, or null. */
export function cookieValue(header: string | null, name: string): string | null {
  if (!header) return null;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      const raw = header.slice(eq + 1, end).trim();
      try {
        return decodeURIComponent(raw);
      } catch {
        return raw;
      }
    }
    start = end + 1;
  }
  return null;
}

/** The Set-Cookie value that pins a client to `pool`. */
export function stickyCookie(name: string, pool: string): string {
  return `${name}=${encodeURIComponent(pool)}; Path=/; HttpOnly; SameSite=Lax`;
}
