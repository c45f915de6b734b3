import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../hosts/local.js';
import { AppLayout } from '../release/layout.js';
import { appendHistory, readCurrent, readHistory, readLastDeploy, readPointer, writeLastDeploy, writePointer } from './records.js';
import { historyEntry } from './test-support.js';

const t = new LocalTransport();
let dir: string;
let layout: AppLayout;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deployer-records-'));
  layout = new AppLayout(dir);
  mkdirSync(layout.state, { recursive: true });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const entry = historyEntry;

describe('history', () => {
  it('appends one JSON line per entry and reads them back oldest first', async () => {
    await appendHistory(t, layout, entry('d1'));
    await appendHistory(t, layout, entry('d2', { result: 'rolled_back', rolled_back: true }));
    const lines = readFileSync(layout.history, 'utf8').split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe('');
    expect(JSON.parse(lines[0]!)).toEqual(entry('d1'));
    expect((await readHistory(t, layout)).map((e) => [e.deploy_id, e.result])).toEqual([
      ['d1', 'succeeded'],
      ['d2', 'rolled_back'],
    ]);
  });

  it('skips a torn last line and blank lines', async () => {
    await appendHistory(t, layout, entry('d1'));
    appendFileSync(layout.history, '\n   \n');
    await appendHistory(t, layout, entry('d2'));
    appendFileSync(layout.history, JSON.stringify(entry('d3')).slice(0, 40));
    expect((await readHistory(t, layout)).map((e) => e.deploy_id)).toEqual(['d1', 'd2']);
  });

  it('is empty when there is no history yet', async () => {
    expect(await readHistory(t, layout)).toEqual([]);
  });
});

describe('last_deploy.json', () => {
  it('round-trips, and reads as null when absent or corrupt', async () => {
    expect(await readLastDeploy(t, layout)).toBeNull();
    await writeLastDeploy(t, layout, entry('d1', { error: 'boom' }));
    expect(await readLastDeploy(t, layout)).toEqual(entry('d1', { error: 'boom' }));
    writeFileSync(layout.lastDeploy, '{"deploy_id": ');
    expect(await readLastDeploy(t, layout)).toBeNull();
  });
});

describe('pointers', () => {
  it('reads a release id, trimmed', async () => {
    writeFileSync(layout.rollbackPoint, '20240101_000000_2\n');
    expect(await readPointer(t, layout.rollbackPoint)).toBe('20240101_000000_2');
  });

  it('refuses anything that is not a release id', async () => {
    for (const bad of ['../../etc', '20240101_000000/..', 'current', '', '\n']) {
      writeFileSync(layout.rollbackPoint, bad);
      expect(await readPointer(t, layout.rollbackPoint), JSON.stringify(bad)).toBeNull();
    }
    expect(await readPointer(t, join(dir, 'absent'))).toBeNull();
  });

  it('writes an id, and removes the file for null', async () => {
    await writePointer(t, layout.preRollbackRelease, '20240101_000000');
    expect(readFileSync(layout.preRollbackRelease, 'utf8')).toBe('20240101_000000\n');
    await writePointer(t, layout.preRollbackRelease, null);
    expect(existsSync(layout.preRollbackRelease)).toBe(false);
    // removing an absent pointer is fine
    await writePointer(t, layout.preRollbackRelease, null);
  });
});

describe('readCurrent', () => {
  it('is the release id `current` points at', async () => {
    symlinkSync('releases/20240101_000000', layout.current);
    expect(await readCurrent(t, layout)).toBe('20240101_000000');
  });

  it('accepts an absolute target with a trailing slash', async () => {
    symlinkSync(`${layout.release('20240101_000000_3')}/`, layout.current);
    expect(await readCurrent(t, layout)).toBe('20240101_000000_3');
  });

  it('is null when `current` is absent, not a link, or points at something that is not a release', async () => {
    expect(await readCurrent(t, layout)).toBeNull();
    symlinkSync('releases/../../etc', layout.current);
    expect(await readCurrent(t, layout)).toBeNull();
    rmSync(layout.current);
    writeFileSync(layout.current, 'a plain file');
    expect(await readCurrent(t, layout)).toBeNull();
  });
});
