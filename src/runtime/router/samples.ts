// The most recent request latencies of a pool: a fixed ring written on the hot path (one array
// write and one increment per request), copied out oldest first only when asked.
import type { PoolSamples } from '../model.js';

/** Samples kept per pool (a power of two: the ring index is a mask). */
export const SAMPLE_CAPACITY = 4096;
const MASK = SAMPLE_CAPACITY - 1;

export class LatencySamples {
  private readonly ring = new Float64Array(SAMPLE_CAPACITY);
  /** samples recorded so far; the newest is at ring[(seq - 1) & MASK] */
  seq = 0;

  record(ms: number): void {
    // & works on the low 32 bits, which keep the low 12 bits of any seq below 2^53
    this.ring[this.seq & MASK] = ms;
    this.seq++;
  }

  toJSON(): PoolSamples {
    const seq = this.seq;
    const n = Math.min(seq, SAMPLE_CAPACITY);
    const latencyMs = new Array<number>(n);
    for (let i = 0, at = seq - n; i < n; i++, at++) latencyMs[i] = this.ring[at & MASK]!;
    return { seq, latencyMs };
  }
}
