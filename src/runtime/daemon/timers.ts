/**
 * One timer per key (`<app>/<pool>`: a pool's scale-down stop), replaced when set again. Timers
 * never keep the daemon alive on their own.
 */
export class KeyedTimers {
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly now: () => number) {}

  /** Runs `fire` at `at` (at once when past); null only cancels. */
  set(key: string, at: number | null, fire: () => void): void {
    this.clear(key);
    if (at === null) return;
    const t = setTimeout(fire, Math.max(0, at - this.now()));
    t.unref();
    this.timers.set(key, t);
  }

  clear(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
