import { describe, expect, it } from 'vitest';
import { serverWeights } from './weights.js';

const pool = (name: string, n: number) => ({ name, targets: Array.from({ length: n }, (_, i) => ({ id: `${name}-${i}`, host: '127.0.0.1', port: 3000 + i })) });

describe('serverWeights', () => {
  it('splits a pool share evenly over its servers, exactly when it fits', () => {
    const w = serverWeights([pool('stable', 2), pool('canary', 1)], { stable: 95, canary: 5 }, 256);
    expect(Object.fromEntries(w)).toEqual({ 'stable-0': 19, 'stable-1': 19, 'canary-0': 2 });
  });
  it('gives 1 to every server of the only pool with traffic, 0 to the others', () => {
    const w = serverWeights([pool('blue', 2), pool('green', 2)], { green: 100 }, 256);
    expect(Object.fromEntries(w)).toEqual({ 'blue-0': 0, 'blue-1': 0, 'green-0': 1, 'green-1': 1 });
  });
  it('keeps 5% as 1:19 with one server each', () => {
    expect(Object.fromEntries(serverWeights([pool('stable', 1), pool('canary', 1)], { stable: 95, canary: 5 }, 256))).toEqual({ 'stable-0': 19, 'canary-0': 1 });
  });
  it('scales down to the nearest split under max, never to 0 for a pool with traffic', () => {
    const w = serverWeights([pool('stable', 1), pool('canary', 1)], { stable: 99.9, canary: 0.1 }, 256);
    expect(w.get('stable-0')).toBe(256);
    expect(w.get('canary-0')).toBe(1);
  });
});
