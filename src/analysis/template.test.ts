import { describe, expect, it } from 'vitest';
import { describeJson, lookupPath, parsePath } from './json-path.js';
import { fillTemplate, intervalLabel } from './template.js';

describe('templates', () => {
  const vars = { app: 'shop', pool: 'canary', release: '20240101_120000', intervalMs: 10_400 };

  it('fills {{app}}, {{pool}}, {{release}}, {{interval}} and leaves others', () => {
    expect(fillTemplate('rate(x{app="{{app}}",pool="{{ pool }}",release="{{release}}"}[{{interval}}]) {{other}}', vars)).toBe(
      'rate(x{app="shop",pool="canary",release="20240101_120000"}[10s]) {{other}}',
    );
    expect(fillTemplate('http://h/m?pool={{pool}}&q={{app}}', { ...vars, app: 'a b&c' }, encodeURIComponent)).toBe('http://h/m?pool=canary&q=a%20b%26c');
  });

  it('renders intervals as whole seconds, at least 1s', () => {
    expect([intervalLabel(0), intervalLabel(400), intervalLabel(1499), intervalLabel(1500), intervalLabel(300_000)]).toEqual(['1s', '1s', '1s', '2s', '300s']);
  });
});

describe('JSON paths', () => {
  const doc = { data: { error_rate: 0.5, pools: [{ p99: '12.5' }, { p99: null }] }, list: [[1, 2]] };

  it('parses a.b[0].c forms', () => {
    expect(parsePath('data.pools[1].p99')).toEqual(['data', 'pools', 1, 'p99']);
    expect(parsePath('$.list[0][1]')).toEqual(['list', 0, 1]);
    expect(parsePath('[2]')).toEqual([2]);
    expect(parsePath('$')).toEqual([]);
    for (const bad of ['a..b', 'a[x]', 'a[0', '.a', 'a.']) expect(parsePath(bad), bad).toBeNull();
  });

  it('finds values and says what was there when it cannot', () => {
    expect(lookupPath(doc, 'data.error_rate')).toEqual({ found: true, value: 0.5 });
    expect(lookupPath(doc, 'data.pools[0].p99')).toEqual({ found: true, value: '12.5' });
    expect(lookupPath(doc, 'list[0][1]')).toEqual({ found: true, value: 2 });
    expect(lookupPath(doc, 'data.p99')).toEqual({ found: false, reason: 'data has no key "p99" (an object with keys error_rate, pools)' });
    expect(lookupPath(doc, 'data.pools[5]')).toEqual({ found: false, reason: 'data.pools has 2 elements, no [5]' });
    expect(lookupPath(doc, 'data.error_rate.x')).toEqual({ found: false, reason: 'data.error_rate is the number 0.5, not an object' });
    expect(lookupPath(doc, 'data[0]')).toEqual({ found: false, reason: 'data is an object with keys error_rate, pools, not an array' });
    expect(lookupPath([1], 'a')).toEqual({ found: false, reason: 'the document is an array of 1, not an object' });
    expect(lookupPath(doc, 'a..b')).toMatchObject({ found: false, reason: expect.stringContaining('invalid path') });
    expect(describeJson('x'.repeat(50))).toBe(`a string "${'x'.repeat(40)}…"`);
  });
});
