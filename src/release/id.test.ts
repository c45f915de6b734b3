import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { assertReleaseId, compareReleaseIds, isReleaseId, nextReleaseId, timestampId } from './id.js';

describe('timestampId', () => {
  const tz = process.env.TZ;
  afterEach(() => {
    if (tz === undefined) delete process.env.TZ;
    else process.env.TZ = tz;
  });

  it('formats the UTC time as YYYYMMDD_HHMMSS', () => {
    expect(timestampId(new Date('2024-01-17T11:05:30.999Z'))).toBe('20240117_110530');
    expect(timestampId(new Date('1999-12-31T23:59:59Z'))).toBe('19991231_235959');
  });

  it('uses UTC whatever the local time zone', () => {
    // 23:30 UTC on Dec 31 is already Jan 1 in Kolkata (UTC+5:30)
    process.env.TZ = 'Asia/Kolkata';
    const d = new Date('2023-12-31T23:30:00Z');
    expect(d.getDate()).toBe(1); // the zone is in effect
    expect(timestampId(d)).toBe('20231231_233000');
  });
});

describe('nextReleaseId', () => {
  const now = new Date('2024-01-17T11:05:30Z');

  it('is the timestamp when that id is free', () => {
    expect(nextReleaseId(now, () => false)).toBe('20240117_110530');
  });

  it('adds _2, _3 ... when the second is taken', () => {
    const taken = new Set(['20240117_110530']);
    expect(nextReleaseId(now, (id) => taken.has(id))).toBe('20240117_110530_2');
    taken.add('20240117_110530_2');
    expect(nextReleaseId(now, (id) => taken.has(id))).toBe('20240117_110530_3');
    // the first free suffix, not one past the highest
    taken.add('20240117_110530_5');
    expect(nextReleaseId(now, (id) => taken.has(id))).toBe('20240117_110530_3');
  });

  it('gives up after the last suffix an id may carry', () => {
    const asked: string[] = [];
    expect(() => nextReleaseId(now, (id) => (asked.push(id), true))).toThrow('no free release id for 20240117_110530');
    expect(asked.at(-1)).toBe('20240117_110530_9999');
    expect(isReleaseId(asked.at(-1)!)).toBe(true);
  });
});

describe('compareReleaseIds', () => {
  it('orders by time, then by suffix numerically (the bare id is 1)', () => {
    const ids = ['20240117_110530_10', '20240117_110531', '20240117_110530_2', '20231231_235959', '20240117_110530', '20240117_110530_9'];
    expect([...ids].sort(compareReleaseIds)).toEqual([
      '20231231_235959',
      '20240117_110530',
      '20240117_110530_2',
      '20240117_110530_9',
      '20240117_110530_10',
      '20240117_110531',
    ]);
    expect(compareReleaseIds('20240117_110530', '20240117_110530')).toBe(0);
    expect(compareReleaseIds('20240117_110530_10', '20240117_110530_9')).toBeGreaterThan(0);
  });

  it('falls back to string order for anything that is not an id', () => {
    expect(compareReleaseIds('a', 'b')).toBeLessThan(0);
    expect(compareReleaseIds('b', 'a')).toBeGreaterThan(0);
    expect(compareReleaseIds('x', 'x')).toBe(0);
  });
});

describe('isReleaseId / assertReleaseId', () => {
  it('accepts ids with and without a suffix', () => {
    for (const id of ['20240101_000000', '20240101_000000_2', '20240101_000000_9999']) {
      expect(isReleaseId(id), id).toBe(true);
      expect(assertReleaseId(id)).toBe(id);
    }
  });

  it('refuses paths and anything else', () => {
    const bad = ['', '../../etc', '20240101_000000/..', '../20240101_000000', '20240101_000000/', '20240101_000000\n', ' 20240101_000000', '20240101_000000_', '20240101_000000_12345', '2024010_000000', '20240101-000000', 'current', '20240101_000000.failed'];
    for (const s of bad) {
      expect(isReleaseId(s), JSON.stringify(s)).toBe(false);
      expect(() => assertReleaseId(s), JSON.stringify(s)).toThrow(UsageError);
    }
  });

  it('says what it expected, naming the argument', () => {
    expect(() => assertReleaseId('../../etc', '--to')).toThrow('--to "../../etc" is not a release id (expected YYYYMMDD_HHMMSS, e.g. 20240117_110530)');
  });
});
