import type { Manifest } from '../manifest/schema/index.js';
import { resolveCount } from '../strategies/rolling.js';

/** How a fleet moves through the gates: every host together, or waves of hosts (rolling). */
export type FleetPolicy = { kind: 'together' } | { kind: 'waves'; wave: number; maxFailures: number };

/**
 * recreate, blue-green and canary (and rollbacks) switch every host or none. rolling walks the
 * hosts in waves: at most min(batch_size, max_unavailable) hosts (a number or a percentage of
 * the fleet) between their switch and their commit at once, and it stops, rolling back every
 * host it updated, once max_failures hosts have failed.
 */
export function fleetPolicy(m: Manifest, operation: 'deploy' | 'rollback', strategy: string, hosts: number): FleetPolicy {
  if (operation !== 'deploy' || strategy !== 'rolling') return { kind: 'together' };
  const r = m.deployment.rolling;
  const wave = Math.min(resolveCount(r?.batch_size ?? 1, hosts), resolveCount(r?.max_unavailable ?? 1, hosts));
  return { kind: 'waves', wave, maxFailures: resolveCount(r?.max_failures ?? 1, hosts) };
}

/** A semaphore: at most `n` tasks at once (ssh.parallel). */
export function limiter(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: (() => void)[] = [];
  return async (task) => {
    // a finished task hands its place straight to the next waiter, so none can slip in between
    if (active >= n) await new Promise<void>((r) => queue.push(r));
    else active++;
    try {
      return await task();
    } finally {
      const next = queue.shift();
      if (next) next();
      else active--;
    }
  };
}
