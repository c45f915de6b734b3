import { describe, expect, it } from 'vitest';
import { RouterError } from '../errors.js';
import { NoneRouter } from './none.js';

describe('router.type none', () => {
  const r = new NoneRouter();

  it('can do nothing but let one pool take everything', async () => {
    expect(Object.values(r.capabilities).every((c) => c === false)).toBe(true);
    expect(await r.live()).toBeNull();
    await expect(r.setWeights({})).resolves.toBeUndefined();
    await expect(r.setWeights({ blue: 0, green: 100 })).resolves.toBeUndefined();
    await expect(r.setRoutes([])).resolves.toBeUndefined();
  });

  it('refuses a split, routes, drain and enable naming router.type', async () => {
    const split = await r.setWeights({ blue: 90, green: 10 }).catch((e: unknown) => e);
    expect(split).toBeInstanceOf(RouterError);
    expect((split as Error).message).toBe('router.type: "none" cannot split traffic between pools (blue 90%, green 10%); choose a router (embedded, nginx or haproxy)');
    await expect(r.setRoutes([{ header: 'x-canary', pool: 'green' }])).rejects.toThrow(/^router.type: "none" cannot route by header or cookie/);
    await expect(r.drain('blue-0')).rejects.toThrow(/^router.type: "none" cannot drain blue-0/);
    await expect(r.enable('blue-0')).rejects.toThrow(/^router.type: "none" cannot put blue-0 back into rotation/);
  });
});
