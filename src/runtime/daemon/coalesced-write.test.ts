import { describe, expect, it } from 'vitest';
import { CoalescedWrite } from './coalesced-write.js';

describe('CoalescedWrite', () => {
  it('never overlaps, and writes once more after the one in flight however many calls came meanwhile', async () => {
    let state = 0;
    let running = 0;
    const written: number[] = [];
    let release!: () => void;
    const w = new CoalescedWrite(async () => {
      running++;
      expect(running).toBe(1);
      const v = state;
      if (written.length === 0) await new Promise<void>((r) => (release = r));
      written.push(v);
      running--;
    });
    const first = w.run();
    // calls before the write began join it
    expect(w.run()).toBe(first);
    await expect.poll(() => running).toBe(1);
    state = 1;
    const calls = [w.run(), w.run(), w.run()];
    state = 2;
    release();
    await Promise.all([first, ...calls]);
    // the first write, then one more of the latest state
    expect(written).toEqual([0, 2]);
  });

  it('a failed write fails its callers only; the next call writes again', async () => {
    let fail = true;
    const w = new CoalescedWrite(async () => {
      if (fail) throw new Error('disk full');
    });
    await expect(w.run()).rejects.toThrow('disk full');
    fail = false;
    await expect(w.run()).resolves.toBeUndefined();
  });
});
