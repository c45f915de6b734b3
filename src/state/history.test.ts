// history.jsonl stays bounded: it rotates past its size, and readers find entries across the
// rotated files without reading them whole.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../hosts/local.js';
import { AppLayout } from '../release/layout.js';
import { findHistoryEntry, linesFromEnd } from './history.js';
import { appendHistory, readHistory, type HistoryEntry } from './records.js';
import { historyEntry } from './test-support.js';

const t = new LocalTransport();
let dir: string;
let layout: AppLayout;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deployer-history-'));
  layout = new AppLayout(dir);
  mkdirSync(layout.state, { recursive: true });
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});


const rotated = (n: number) => join(layout.state, `history.${n}.jsonl`);
const lines = (ids: string[]) => ids.map((id) => `${JSON.stringify(historyEntry(id))}\n`).join('');
/** `count` entries d<from>..d<from+count-1>, each padded (note) to about `bytes` */
const padded = (from: number, count: number, bytes: number) =>
  Array.from({ length: count }, (_, i) => `${JSON.stringify(historyEntry(`d${from + i}`, { note: 'x'.repeat(bytes) }))}\n`).join('');
const ids = (es: HistoryEntry[]) => es.map((e) => e.deploy_id);

describe('history rotation', () => {
  it('shifts history.jsonl to history.1.jsonl when an append would take it past 1 MiB, keeping four rotated files', async () => {
    writeFileSync(layout.history, padded(0, 11, 100_000)); // ~1.1 MB: past the bound
    for (let n = 1; n <= 4; n++) writeFileSync(rotated(n), lines([`old-${n}`]));
    await appendHistory(t, layout, historyEntry('new'));
    expect(ids(JSON.parse(`[${readFileSync(layout.history, 'utf8').trim().split('\n').join(',')}]`) as HistoryEntry[])).toEqual(['new']);
    expect(statSync(rotated(1)).size).toBeGreaterThan(1_000_000);
    expect(readFileSync(rotated(2), 'utf8')).toBe(lines(['old-1']));
    expect(readFileSync(rotated(4), 'utf8')).toBe(lines(['old-3']));
    expect(ids(await readHistory(t, layout)).filter((id) => id.startsWith('old-'))).toEqual(['old-3', 'old-2', 'old-1']);
    // the oldest (old-4) went: four rotated files at most
    expect(existsSync(rotated(5))).toBe(false);
  });

  it('does not rotate below the bound', async () => {
    writeFileSync(layout.history, padded(0, 5, 100_000));
    await appendHistory(t, layout, historyEntry('new'));
    expect(existsSync(rotated(1))).toBe(false);
    expect(ids(await readHistory(t, layout)).at(-1)).toBe('new');
  });

  it('ends a torn last line before appending, so the next entry is not glued to it', async () => {
    appendFileSync(layout.history, lines(['d1']) + JSON.stringify(historyEntry('torn')).slice(0, 30));
    await appendHistory(t, layout, historyEntry('d2'));
    expect(ids(await readHistory(t, layout))).toEqual(['d1', 'd2']);
  });
});

describe('reading history across the rotated files', () => {
  beforeEach(() => {
    writeFileSync(rotated(2), lines(['a1', 'a2']));
    writeFileSync(rotated(1), lines(['b1', 'b2', 'b3']));
    writeFileSync(layout.history, lines(['c1']));
  });

  it('lists every kept entry, oldest first', async () => {
    expect(ids(await readHistory(t, layout))).toEqual(['a1', 'a2', 'b1', 'b2', 'b3', 'c1']);
  });

  it('reads only the newest N when asked', async () => {
    expect(ids(await readHistory(t, layout, 3))).toEqual(['b2', 'b3', 'c1']);
  });

  it('finds one deploy in a rotated file, and not further back than asked', async () => {
    expect((await findHistoryEntry(t, layout, 'a2'))?.deploy_id).toBe('a2');
    expect(await findHistoryEntry(t, layout, 'a2', 4)).toBeNull();
    expect(await findHistoryEntry(t, layout, 'nope')).toBeNull();
  });
});

describe('reading lines from the end', () => {
  it('splits lines across chunk boundaries, multi-byte characters included', async () => {
    const want = Array.from({ length: 40 }, (_, i) => `line ${i} ${'é'.repeat(i)} ✓`);
    writeFileSync(layout.history, `${want.join('\n')}\n\n`);
    const got: string[] = [];
    for await (const l of linesFromEnd(t.fs, layout.history, 7)) got.push(l);
    expect(got.reverse()).toEqual(want);
  });
});
