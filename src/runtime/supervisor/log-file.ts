import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { copyFile, rename, stat, truncate, unlink } from 'node:fs/promises';
import { PRIVATE_FILE } from '../../util/private-files.js';
import { dirname } from 'node:path';

export interface LogOptions {
  /** a log larger than this is rotated */
  maxBytes: number;
  /** rotated copies kept: `<log>.1` (newest) … `<log>.<keep>` */
  keep: number;
  checkIntervalMs: number;
}

export const defaultLogOptions: LogOptions = { maxBytes: 10 * 1024 * 1024, keep: 5, checkIntervalMs: 5000 };

/**
 * Opens (creating it and its directory) a log for appending. The descriptor goes to the child
 * as its stdout and stderr: O_APPEND makes every write land at the current end, so the file can
 * be truncated under it, and the daemon is never in the path of the output.
 */
export function openLogForAppend(file: string): number {
  mkdirSync(dirname(file), { recursive: true });
  return openSync(file, 'a', PRIVATE_FILE);
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
}

/** `<log>.<keep>` is dropped, then `<log>.<n>` becomes `<log>.<n+1>`, oldest first. */
export async function shiftLogs(file: string, keep: number): Promise<void> {
  await unlink(`${file}.${keep}`).catch(ignoreMissing);
  for (let n = keep - 1; n >= 1; n--) await rename(`${file}.${n}`, `${file}.${n + 1}`).catch(ignoreMissing);
}

/**
 * copytruncate: the log is copied to `<log>.1` and truncated to 0. The process keeps its
 * O_APPEND descriptor and goes on writing at the new end. The price is a small loss window:
 * whatever it writes between the end of the copy and the truncation is in neither file.
 * (Renaming instead would lose nothing but needs the process to reopen its log, which a plain
 * command writing to stdout cannot be asked to do.)
 */
export async function rotateLog(file: string, keep: number): Promise<void> {
  if (keep >= 1) {
    await shiftLogs(file, keep);
    await copyFile(file, `${file}.1`);
  }
  await truncate(file, 0);
}

/** Rotates `file` when it is larger than maxBytes; true when it did. A missing file is not rotated. */
export async function rotateIfLarge(file: string, maxBytes: number, keep: number): Promise<boolean> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (e) {
    ignoreMissing(e);
    return false;
  }
  if (size <= maxBytes) return false;
  await rotateLog(file, keep);
  return true;
}

/** The last `lines` lines of a log (from its last 64 KiB at most); '' when it cannot be read. */
export function readTail(file: string, lines: number, maxBytes = 64 * 1024): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buf = Buffer.alloc(length);
    const read = readSync(fd, buf, 0, length, size - length);
    let text = buf.subarray(0, read).toString('utf8');
    // started in the middle of a line: drop that part
    if (length < size && text.includes('\n')) text = text.slice(text.indexOf('\n') + 1);
    const all = text.split('\n');
    if (all.at(-1) === '') all.pop();
    return lines > 0 ? all.slice(-lines).join('\n') : '';
  } finally {
    closeSync(fd);
  }
}
