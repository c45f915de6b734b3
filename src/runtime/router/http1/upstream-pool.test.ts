import { describe, expect, it } from 'vitest';
import { keepIdleMs } from './upstream-pool.js';

describe('keepIdleMs', () => {
  it("retires an idle connection well before the target's announced keep-alive timeout, never later than 4 s", () => {
    expect([keepIdleMs(0), keepIdleMs(1), keepIdleMs(2), keepIdleMs(5), keepIdleMs(75)]).toEqual([-500, 500, 1500, 4000, 4000]);
  });
});
