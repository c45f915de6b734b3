import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLogForAppend, readTail, rotateIfLarge, rotateLog } from './log-file.js';
import { closeSync, writeSync } from 'node:fs';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deployer-log-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const read = (f: string) => readFileSync(f, 'utf8');

describe('log rotation', () => {
  it('shifts .1 → .2 … up to keep, drops the oldest, copies the log to .1 and empties it', async () => {
    const log = join(dir, 'app.log');
    writeFileSync(log, 'current\n');
    writeFileSync(`${log}.1`, 'one\n');
    writeFileSync(`${log}.2`, 'two\n');
    writeFileSync(`${log}.3`, 'three\n');
    await rotateLog(log, 3);
    expect(read(log)).toBe('');
    expect(read(`${log}.1`)).toBe('current\n');
    expect(read(`${log}.2`)).toBe('one\n');
    expect(read(`${log}.3`)).toBe('two\n');
    expect(existsSync(`${log}.4`)).toBe(false);
  });

  it('fills gaps: with only the log, rotation makes .1 and nothing else', async () => {
    const log = join(dir, 'app.log');
    writeFileSync(log, 'x\n');
    await rotateLog(log, 5);
    expect(read(`${log}.1`)).toBe('x\n');
    expect(existsSync(`${log}.2`)).toBe(false);
  });

  it('rotates only past maxBytes, and a missing log is left alone', async () => {
    const log = join(dir, 'app.log');
    expect(await rotateIfLarge(log, 10, 2)).toBe(false);
    writeFileSync(log, '0123456789');
    expect(await rotateIfLarge(log, 10, 2)).toBe(false);
    writeFileSync(log, '0123456789A');
    expect(await rotateIfLarge(log, 10, 2)).toBe(true);
    expect(statSync(log).size).toBe(0);
  });

  it('a writer holding an O_APPEND descriptor goes on at the new end after truncation (no hole)', async () => {
    const log = join(dir, 'sub', 'app.log');
    const fd = openLogForAppend(log);
    try {
      writeSync(fd, 'before rotation\n');
      await rotateLog(log, 1);
      writeSync(fd, 'after\n');
    } finally {
      closeSync(fd);
    }
    expect(read(log)).toBe('after\n');
    expect(read(`${log}.1`)).toBe('before rotation\n');
  });
});

describe('readTail', () => {
  it('returns the last lines, without a trailing newline', () => {
    const log = join(dir, 'app.log');
    writeFileSync(log, 'a\nb\nc\nd\n');
    expect(readTail(log, 2)).toBe('c\nd');
    expect(readTail(log, 10)).toBe('a\nb\nc\nd');
  });

  it('reads only the end of a large log and drops the partial first line', () => {
    const log = join(dir, 'app.log');
    writeFileSync(log, `${'x'.repeat(100)}\nlast one\n`);
    expect(readTail(log, 5, 20)).toBe('last one');
  });

  it('is empty for a missing log', () => {
    expect(readTail(join(dir, 'nope.log'), 5)).toBe('');
  });
});
