import { describe, expect, it } from 'vitest';
import { Backoff, defaultBackoff } from './backoff.js';

describe('Backoff', () => {
  it('doubles from 500 ms up to 30 s by default, and stays there', () => {
    const b = new Backoff(defaultBackoff);
    const delays = Array.from({ length: 10 }, () => b.next(0));
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000]);
  });

  it('starts over after a run that lasted resetAfterMs, not after a shorter one', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 10_000, factor: 3, resetAfterMs: 5000 });
    expect([b.next(0), b.next(10), b.next(4999)]).toEqual([100, 300, 900]);
    expect(b.next(5000)).toBe(100);
    expect(b.next(0)).toBe(300);
  });

  it('never overflows after very many failures', () => {
    const b = new Backoff({ initialMs: 1, maxMs: 50, factor: 10, resetAfterMs: 1000 });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = b.next(0);
    expect(last).toBe(50);
  });
});
