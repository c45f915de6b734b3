import { describe, expect, it } from 'vitest';
import type { TargetState } from '../model.js';
import { cookieValue, pickPool, pickTarget, stickyCookie, weightedPools } from './select.js';
import { seededRandom as seeded } from '../../util/seeded-random.js';

const t = (state: TargetState) => ({ state });
const pool = (...states: TargetState[]) => ({ targets: states.map(t), rr: 0 });

describe('pickPool', () => {
  it('splits by weight among pools with a routable target', () => {
    const pools = [pool('healthy'), pool('healthy'), pool('healthy')];
    const rnd = seeded(42);
    const n = [0, 0, 0];
    for (let i = 0; i < 10_000; i++) n[pickPool(pools, [1, 3, 0], rnd(), null)]!++;
    expect(n[2]).toBe(0);
    expect(n[0]! / 10_000).toBeGreaterThan(0.22);
    expect(n[0]! / 10_000).toBeLessThan(0.28);
  });

  it('maps the random number onto cumulative weights', () => {
    const pools = [pool('healthy'), pool('healthy')];
    expect(pickPool(pools, [1, 1], 0, null)).toBe(0);
    expect(pickPool(pools, [1, 1], 0.49, null)).toBe(0);
    expect(pickPool(pools, [1, 1], 0.51, null)).toBe(1);
    expect(pickPool(pools, [1, 1], 0.999999, null)).toBe(1);
  });

  it('skips pools whose targets are all out of rotation, and says -1 when none is left', () => {
    const pools = [pool('unhealthy', 'draining'), pool('unknown', 'healthy')];
    expect(pickPool(pools, [100, 1], 0, null)).toBe(1);
    expect(pickPool(pools, [100, 0], 0.5, null)).toBe(-1);
    expect(pickPool([pool('disabled')], [1], 0.5, null)).toBe(-1);
  });

  it('treats the excluded target as not routable', () => {
    const pools = [pool('healthy'), pool('healthy')];
    expect(pickPool(pools, [1, 1], 0, pools[0]!.targets[0]!)).toBe(1);
  });
});

describe('pickTarget', () => {
  it('goes round-robin over healthy targets only', () => {
    const p = pool('healthy', 'unhealthy', 'healthy', 'draining');
    const seen = [pickTarget(p, null), pickTarget(p, null), pickTarget(p, null), pickTarget(p, null)];
    expect(seen.map((x) => p.targets.indexOf(x!))).toEqual([0, 2, 0, 2]);
    expect(pickTarget(pool('unknown', 'disabled'), null)).toBeNull();
  });

  it('avoids the excluded target', () => {
    const p = pool('healthy', 'healthy');
    const first = p.targets[0]!;
    for (let i = 0; i < 4; i++) expect(pickTarget(p, first)).toBe(p.targets[1]);
  });
});

describe('cookies', () => {
  it('finds a cookie among others, decoded, and null when absent', () => {
    expect(cookieValue('a=1; dpl_pool=green; b=2', 'dpl_pool')).toBe('green');
    expect(cookieValue('dpl_pool=blue', 'dpl_pool')).toBe('blue');
    expect(cookieValue(' x=1;dpl_pool = a%20b ', 'dpl_pool')).toBe('a b');
    expect(cookieValue('xdpl_pool=blue', 'dpl_pool')).toBeNull();
    expect(cookieValue(null, 'dpl_pool')).toBeNull();
    expect(cookieValue('dpl_pool=%E0%A4%A', 'dpl_pool')).toBe('%E0%A4%A');
  });

  it('pins with an HttpOnly, SameSite=Lax cookie on /', () => {
    expect(stickyCookie('dpl', 'green')).toBe('dpl=green; Path=/; HttpOnly; SameSite=Lax');
  });

  it('counts weighted pools', () => {
    expect(weightedPools([0, 1, 2])).toBe(2);
    expect(weightedPools([0, 0])).toBe(0);
  });
});
