export interface BackoffOptions {
  /** delay before the first restart */
  initialMs: number;
  /** the delay never grows past this */
  maxMs: number;
  /** each restart in a row waits this many times longer than the one before */
  factor: number;
  /** a run that lasted at least this long starts the sequence over */
  resetAfterMs: number;
}

export const defaultBackoff: BackoffOptions = { initialMs: 500, maxMs: 30_000, factor: 2, resetAfterMs: 10_000 };

/** Restart delays: initial, initial·factor, initial·factor², … up to max; a long enough run resets them. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly o: BackoffOptions) {}

  /** The delay before the next start, given how long the last run lasted (0: it did not start). */
  next(ranMs: number): number {
    if (ranMs >= this.o.resetAfterMs) this.attempt = 0;
    const delay = Math.min(this.o.maxMs, this.o.initialMs * this.o.factor ** this.attempt);
    if (delay < this.o.maxMs) this.attempt++;
    return Math.round(delay);
  }
}
