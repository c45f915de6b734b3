import { describe, expect, it } from 'vitest';
import { seededRandom } from '../util/seeded-random.js';
import { mannWhitneyGreater, normalSf, subsample } from './mann-whitney.js';

/** Latencies in ms: 2 ms plus an exponential of mean `scale` (and `offset`), in tenths of a ms (so there are ties). */
function latencies(seed: number, n: number, scale: number, offset = 0): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => Math.round((offset + 2 + scale * -Math.log(1 - r())) * 10) / 10);
}

/** Relative closeness: the erfc approximation is good to about 1.2e-7 of the value. */
function expectRel(actual: number, expected: number, tol = 1e-6) {
  expect(Math.abs(actual / expected - 1), `${actual} vs ${expected}`).toBeLessThan(tol);
}

describe('normalSf', () => {
  it('matches the standard normal upper tail (values from math.erfc)', () => {
    expectRel(normalSf(0), 0.5);
    expectRel(normalSf(1), 0.15865525393145707);
    expectRel(normalSf(1.96), 0.024997895148220435);
    expectRel(normalSf(3), 0.0013498980316300957);
    expectRel(normalSf(5), 2.866515718791946e-7);
    expectRel(normalSf(8), 6.220960574271819e-16);
    expectRel(normalSf(-1.96), 1 - 0.024997895148220435);
  });
});

// References: scipy 1.17 `mannwhitneyu(x, y, alternative='greater', method='asymptotic')`
// (continuity correction on by default), computed when this test was written.
describe('mannWhitneyGreater', () => {
  it('matches scipy on its documentation example (no ties)', () => {
    const r = mannWhitneyGreater([19, 22, 16, 29, 24], [20, 11, 17, 12]);
    expect(r.u).toBe(17);
    expect(r.z).toBeCloseTo(1.5921683328090657, 9);
    expectRel(r.p, 0.055673443266570206);
    // two-sided, as scipy's documentation prints it
    expectRel(2 * r.p, 0.11134688653314041);
  });

  it('corrects for ties', () => {
    const x = [1, 2, 2, 3, 4, 4, 4, 5];
    const y = [1, 1, 2, 3, 3, 3];
    const r = mannWhitneyGreater(x, y);
    expect(r.u).toBe(34.5);
    expect(r.z).toBeCloseTo(1.3233847475871354, 9);
    expectRel(r.p, 0.09285373070291891);
    // the other direction: U2 = n1 n2 - U1
    const back = mannWhitneyGreater(y, x);
    expect(back.u).toBe(13.5);
    expectRel(back.p, 0.9272654261972934);
  });

  it('finds a clear shift in small samples', () => {
    const x = [12.1, 14.3, 11.8, 15.2, 13.3, 12.9, 14.8, 16.1, 13.7, 12.5, 15.9, 14.1];
    const y = [10.2, 11.1, 9.8, 12.4, 10.9, 11.5, 10.1, 12.9, 11.3, 10.7];
    const r = mannWhitneyGreater(x, y);
    expect(r.u).toBe(114.5);
    expectRel(r.p, 0.00018425853560766038);
  });

  it('on seeded latencies: same distribution is not significant, a 1.5 ms shift is, only in its direction', () => {
    const a = latencies(1, 300, 4);
    const b = latencies(2, 300, 4);
    const c = latencies(3, 300, 4, 1.5);
    expect(a.slice(0, 5)).toEqual([5.9, 2, 5, 17.9, 15.8]); // the generator is what the references were computed on
    const same = mannWhitneyGreater(a, b);
    expect(same.u).toBe(44470.5);
    expectRel(same.p, 0.5985799769722902);
    const slower = mannWhitneyGreater(c, b);
    expect(slower.u).toBe(60382);
    expectRel(slower.p, 2.1536849376562963e-13, 1e-5);
    const faster = mannWhitneyGreater(b, c);
    expect(faster.u).toBe(29618);
    expectRel(faster.p, 0.9999999999997854);
  });

  it('handles large samples and everything tied', () => {
    const r = mannWhitneyGreater(latencies(4, 5000, 4), latencies(5, 3000, 4));
    expect(r.u).toBe(7577815.5);
    expectRel(r.p, 0.21823020514271568);
    expect(mannWhitneyGreater([3, 3, 3], [3, 3])).toEqual({ u: 3, z: 0, p: 1 });
    expect(() => mannWhitneyGreater([], [1])).toThrow(/both samples/);
  });
});

describe('subsample', () => {
  it('keeps short arrays and spreads the picks evenly through long ones, deterministically', () => {
    expect(subsample([1, 2, 3], 5)).toEqual([1, 2, 3]);
    const v = Array.from({ length: 10 }, (_, i) => i);
    expect(subsample(v, 4)).toEqual([0, 2, 5, 7]);
    const big = latencies(6, 4096, 4);
    expect(subsample(big, 2000)).toHaveLength(2000);
    expect(subsample(big, 2000)).toEqual(subsample(big, 2000));
    expect(subsample(big, 2000)[1999]).toBe(big[Math.floor((1999 * 4096) / 2000)]);
  });
});
