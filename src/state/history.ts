import type { HostFs, Transport } from '../hosts/transport.js';
import type { AppLayout } from '../release/layout.js';
import type { HistoryEntry } from './records.js';

/**
 * history.jsonl is bounded: an append that would take it past `maxBytes` first shifts it to
 * history.1.jsonl (history.1 to history.2, ...), keeping `keep` rotated files; the oldest goes.
 * Readers walk the files newest first, reading each from its end in chunks, so finding the last
 * entries (or one deploy) costs what they hold, not what the history holds.
 */
export interface HistoryBounds {
  maxBytes: number;
  keep: number;
}

/** 1 MiB a file (a few thousand deploys), four rotated files besides the live one. */
export const HISTORY_BOUNDS: HistoryBounds = { maxBytes: 1024 * 1024, keep: 4 };

const CHUNK = 64 * 1024;
/** no entry Deployer writes is this long (a canary keeps its newest intervals): past it, the rest of that file is not read */
const MAX_LINE = 4 * 1024 * 1024;

/** history.jsonl, history.1.jsonl, ... history.<keep>.jsonl: newest first. */
export function historyFiles(layout: AppLayout, keep = HISTORY_BOUNDS.keep): string[] {
  return [layout.history, ...Array.from({ length: keep }, (_, i) => layout.history.replace(/\.jsonl$/, `.${i + 1}.jsonl`))];
}

export async function appendHistory(t: Transport, layout: AppLayout, e: HistoryEntry, bounds: HistoryBounds = HISTORY_BOUNDS): Promise<void> {
  const line = `${JSON.stringify(e)}\n`;
  const size = (await t.fs.stat(layout.history))?.size ?? 0;
  if (size > 0 && size + Buffer.byteLength(line) > bounds.maxBytes) await rotate(t.fs, historyFiles(layout, bounds.keep));
  else if (size > 0 && (await t.fs.readRange(layout.history, size - 1, 1))?.toString() !== '\n') {
    // a torn last line (a crash mid-append): end it, or this entry would be glued to it
    await t.fs.appendLine(layout.history, '');
  }
  await t.fs.appendLine(layout.history, line);
}

/** Shifts history.jsonl to history.1.jsonl (and so on), dropping the oldest: renames only, nothing is read. */
export async function rotateHistory(t: Transport, layout: AppLayout, bounds: HistoryBounds = HISTORY_BOUNDS): Promise<void> {
  await rotate(t.fs, historyFiles(layout, bounds.keep));
}

async function rotate(fs: HostFs, files: string[]): Promise<void> {
  await fs.remove(files.at(-1)!);
  for (let i = files.length - 2; i >= 0; i--) if (await fs.stat(files[i]!)) await fs.rename(files[i]!, files[i + 1]!);
}

/** Lines of a file from its last to its first, read backwards in chunks; nothing when it is absent. */
export async function* linesFromEnd(fs: HostFs, path: string, chunk = CHUNK): AsyncGenerator<string> {
  let end = (await fs.stat(path))?.size ?? 0;
  let rest = Buffer.alloc(0);
  while (end > 0) {
    const start = Math.max(0, end - chunk);
    const got = await fs.readRange(path, start, end - start);
    if (!got) return;
    end = start;
    let buf = Buffer.concat([got, rest]);
    // every complete line after the first newline of the buffer; what is before it may go on further back
    for (let nl = buf.lastIndexOf(10, buf.length - 1); nl >= 0; nl = buf.lastIndexOf(10, buf.length - 1)) {
      const line = buf.subarray(nl + 1).toString('utf8');
      buf = buf.subarray(0, nl);
      if (line.trim()) yield line;
    }
    rest = Buffer.from(buf);
    if (rest.length > MAX_LINE) return;
  }
  if (rest.toString('utf8').trim()) yield rest.toString('utf8');
}

/** Entries newest first, across the live and the rotated files; lines that do not parse are skipped. */
export async function* entriesFromEnd(t: Transport, layout: AppLayout, keep = HISTORY_BOUNDS.keep): AsyncGenerator<HistoryEntry> {
  for (const file of historyFiles(layout, keep)) {
    for await (const line of linesFromEnd(t.fs, file)) {
      try {
        yield JSON.parse(line) as HistoryEntry;
      } catch {
        /* a torn line */
      }
    }
  }
}

/** The newest `limit` entries (all when limit is 0), oldest first. */
export async function readHistory(t: Transport, layout: AppLayout, limit = 0): Promise<HistoryEntry[]> {
  const out: HistoryEntry[] = [];
  for await (const e of entriesFromEnd(t, layout)) {
    out.push(e);
    if (limit && out.length >= limit) break;
  }
  return out.reverse();
}

/** The newest entry of one deploy, looking no further back than `within` entries (0: all kept). */
export async function findHistoryEntry(t: Transport, layout: AppLayout, deployId: string, within = 0): Promise<HistoryEntry | null> {
  let seen = 0;
  for await (const e of entriesFromEnd(t, layout)) {
    if (e.deploy_id === deployId) return e;
    if (within && ++seen >= within) break;
  }
  return null;
}
