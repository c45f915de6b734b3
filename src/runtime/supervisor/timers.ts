/**
 * The supervisor's background timers (restart delays, adoption watches, log rotation checks).
 * Injected so a test can drive them; by default they are unref'd: they never keep the daemon
 * alive on their own. Waits somebody awaits (stop, waitStable) use the Clock instead.
 */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const unrefTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
