import { describe, expect, it } from 'vitest';
import { formatDuration, MAX_DURATION_MS, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it('reads a number as seconds', () => {
    expect(parseDuration(30)).toBe(30_000);
    expect(parseDuration(0)).toBe(0);
    expect(parseDuration(1.5)).toBe(1500);
    expect(parseDuration(0.0004)).toBe(0);
  });

  it('reads a bare numeric string as seconds', () => {
    expect(parseDuration('30')).toBe(30_000);
    expect(parseDuration('1.5')).toBe(1500);
    expect(parseDuration(' 30 ')).toBe(30_000);
  });

  it('reads number+unit parts, one or several', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(parseDuration('1h2m3s4ms')).toBe(3_723_004);
    expect(parseDuration(' 30s ')).toBe(30_000);
  });

  it('refuses anything else', () => {
    for (const bad of ['', ' ', '5x', '-5s', '30S', 'ms', 's', '1m 30s', '.5s', '1e3', '30s garbage', 'garbage 30s', '1,5s', '+5s']) {
      expect(parseDuration(bad), JSON.stringify(bad)).toBeNull();
    }
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(parseDuration(bad), String(bad)).toBeNull();
  });

  it('parses the longest accepted duration exactly (the schema refuses longer ones)', () => {
    expect(parseDuration(`${MAX_DURATION_MS}ms`)).toBe(2_147_483_647);
    expect(parseDuration('25d')! > MAX_DURATION_MS).toBe(true);
  });
});

describe('formatDuration', () => {
  it('writes milliseconds below a second', () => {
    expect(formatDuration(0)).toBe('0ms');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(999)).toBe('999ms');
  });

  it('writes seconds with decimals below a minute', () => {
    expect(formatDuration(1000)).toBe('1s');
    expect(formatDuration(1500)).toBe('1.5s');
    expect(formatDuration(1234)).toBe('1.23s');
    expect(formatDuration(12_345)).toBe('12.3s');
  });

  it('writes hours, minutes and seconds above a minute, leaving out zero parts', () => {
    expect(formatDuration(60_000)).toBe('1m');
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(3_661_000)).toBe('1h1m1s');
    expect(formatDuration(7_200_000 + 5000)).toBe('2h5s');
  });

  it('carries a rounded-up second into the minute and the hour', () => {
    expect(formatDuration(119_500)).toBe('2m');
    expect(formatDuration(3_599_500)).toBe('1h');
    expect(formatDuration(90_400)).toBe('1m30s');
  });

  it('round-trips through parseDuration for whole seconds', () => {
    for (const ms of [60_000, 90_000, 3_723_000, 86_400_000]) expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});
