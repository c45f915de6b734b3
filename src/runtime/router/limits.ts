// The router's bounds on client connections (router.* in the manifest; the README's Limits table):
// carried in each app's spec, applied per listener. Apps that share a listener get the largest of
// their values, so one app's manifest cannot tighten the bounds of another app on the same port.
import { z } from 'zod';
import type { RouterLimits } from '../model.js';

export const DEFAULT_LIMITS: RouterLimits = {
  sendTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  tunnelIdleTimeoutMs: 600_000,
  maxConnections: 10_000,
  maxConnectionsPerClient: 500,
  maxHeadMemory: 32 * 1024 * 1024,
};

const ms = z.number().int().min(100).max(86_400_000);

export const LimitsSchema = z.strictObject({
  sendTimeoutMs: ms,
  bodyTimeoutMs: ms,
  tunnelIdleTimeoutMs: ms,
  maxConnections: z.number().int().min(1).max(1_000_000),
  maxConnectionsPerClient: z.number().int().min(1).max(1_000_000),
  maxHeadMemory: z.number().int().min(64 * 1024).max(2 ** 40),
});

/** The limits of a listener serving apps with these limits (absent: the defaults). */
export function listenerLimits(apps: Iterable<{ limits?: RouterLimits | undefined }>): RouterLimits {
  let out: RouterLimits | null = null;
  for (const a of apps) {
    const l = a.limits ?? DEFAULT_LIMITS;
    if (out === null) out = { ...l };
    else for (const k of Object.keys(out) as (keyof RouterLimits)[]) out[k] = Math.max(out[k], l[k]);
  }
  return out ?? { ...DEFAULT_LIMITS };
}

/** How often a listener's sweep runs: often enough for its shortest timeout (a quarter of it), at most every 5 s. */
export function sweepPeriodMs(l: RouterLimits): number {
  return Math.max(25, Math.min(5_000, Math.floor(Math.min(l.sendTimeoutMs, l.bodyTimeoutMs, l.tunnelIdleTimeoutMs) / 4)));
}
