import { asDiskFull, UnsafeArchiveError } from '../../errors.js';
import fs, { constants as fsc } from 'node:fs';
import path from 'node:path';
import { unsafeEntry } from './archive-guard.js';

export interface ExtractResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
}

/** Entry metadata the writer needs; `mode` may carry type bits, only the permission bits are used. */
export interface WriteMeta {
  rawPath: string;
  mode: number | undefined;
  mtime: Date | undefined;
}

const BATCH = 1 << 20;

/**
 * Creates the entries the guard admitted, inside destDir only. It does not trust the guard
 * alone: paths are re-checked to stay below destDir, parent directories are created here one
 * component at a time and an existing one must be a real directory (lstat, never followed), and
 * files are opened O_EXCL|O_NOFOLLOW so an existing name, symlink or not, is never written
 * through. Directories are created owner-writable and get their real mode and mtime at the end,
 * deepest first, so a read-only directory in the archive does not block its own contents and
 * creating children does not spoil the parent's mtime. Nothing is chowned.
 *
 * The file system calls are synchronous on purpose: a release is thousands of small files and
 * each call is a few microseconds, while the async API's thread-pool round trip costs more than
 * the call itself (measured ~30% slower overall). The event loop still turns between chunks of
 * the archive stream, so timers (lock heartbeats) keep running.
 */
export class ReleaseWriter {
  readonly result: ExtractResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0 };
  /** directories known to be real directories created by this writer */
  private readonly dirs = new Set<string>();
  /** final mode/mtime of each directory, applied in finish() */
  private readonly dirMeta = new Map<string, { mode: number; mtime: Date | undefined }>();

  constructor(
    private readonly destDir: string,
    private readonly archive: string,
    /** refuse the archive once its files add up to more than this (a decompression bomb) */
    private readonly maxBytes = Infinity,
  ) {}

  private count(bytes: number): void {
    this.result.bytes += bytes;
    if (this.result.bytes > this.maxBytes) {
      throw new UnsafeArchiveError(`${this.archive}: expands to more than ${this.maxBytes} bytes (source.max_size); archive refused`);
    }
  }

  dir(rel: string, meta: WriteMeta, replace: boolean): void {
    const abs = this.prepare(rel, meta.rawPath, replace);
    if (!this.dirs.has(rel)) this.mkdirOnce(abs, rel, meta.rawPath);
    this.dirMeta.set(rel, { mode: perm(meta.mode, 0o755), mtime: validDate(meta.mtime) });
  }

  /** Streams `body` into a new file, in batches of up to 1 MiB. */
  async file(rel: string, meta: WriteMeta, replace: boolean, body: AsyncIterable<Buffer>): Promise<void> {
    const abs = this.prepare(rel, meta.rawPath, replace);
    const fd = fs.openSync(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const chunk of body) {
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= BATCH) {
          this.count(batched);
          writeAll(fd, batch);
          batch = [];
          batched = 0;
        }
      }
      this.count(batched);
      writeAll(fd, batch);
      // fchmod, not the open mode: the umask must not change what the archive says
      fs.fchmodSync(fd, perm(meta.mode, 0o644));
      const mtime = validDate(meta.mtime);
      if (mtime) fs.futimesSync(fd, mtime, mtime);
    } catch (e) {
      throw asDiskFull(e, abs);
    } finally {
      fs.closeSync(fd);
    }
    this.result.files++;
  }

  symlink(rel: string, meta: WriteMeta, replace: boolean, target: string): void {
    const abs = this.prepare(rel, meta.rawPath, replace);
    fs.symlinkSync(target, abs);
    const mtime = validDate(meta.mtime);
    try {
      if (mtime) fs.lutimesSync(abs, mtime, mtime);
    } catch {
      /* best effort: not every file system keeps a symlink's own times */
    }
    this.result.symlinks++;
  }

  hardlink(rel: string, meta: WriteMeta, replace: boolean, targetRel: string): void {
    const target = this.inside(targetRel, meta.rawPath);
    const abs = this.prepare(rel, meta.rawPath, replace);
    // link(2) does not follow a final symlink, and the parents are ours; still, check the target
    if (!fs.lstatSync(target).isFile()) {
      throw unsafeEntry(this.archive, meta.rawPath, 'is a hard link to something that is not a regular file');
    }
    fs.linkSync(target, abs);
    this.result.files++;
  }

  /** Applies directory modes and mtimes, deepest first. */
  finish(): void {
    const all = [...this.dirMeta].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, { mode, mtime }] of all) {
      const abs = path.join(this.destDir, rel);
      fs.chmodSync(abs, mode);
      if (mtime) fs.utimesSync(abs, mtime, mtime);
    }
  }

  private inside(rel: string, rawPath: string): string {
    const abs = path.join(this.destDir, rel);
    if (rel === '' || rel.split('/').includes('..') || !abs.startsWith(this.destDir + path.sep)) {
      throw unsafeEntry(this.archive, rawPath, 'escapes the release directory');
    }
    return abs;
  }

  /** Absolute path for `rel` with its parents in place and any earlier non-directory removed. */
  private prepare(rel: string, rawPath: string, replace: boolean): string {
    const abs = this.inside(rel, rawPath);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.dirs.has(parent)) continue;
      this.mkdirOnce(path.join(this.destDir, parent), parent, rawPath);
      this.dirMeta.set(parent, { mode: 0o755, mtime: undefined });
    }
    if (replace) {
      // only files, links and symlinks are replaced (the guard refuses replacing a directory);
      // unlink removes the name, never what a symlink points at
      try {
        fs.unlinkSync(abs);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return abs;
  }

  private mkdirOnce(abs: string, rel: string, rawPath: string): void {
    try {
      fs.mkdirSync(abs, 0o700);
      this.result.dirs++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (!fs.lstatSync(abs).isDirectory()) {
        throw unsafeEntry(this.archive, rawPath, `would be written through ${JSON.stringify(rel)}, which is not a directory`);
      }
    }
    this.dirs.add(rel);
  }
}

function perm(mode: number | undefined, fallback: number): number {
  // setuid/setgid/sticky are dropped: a release is not a place for privilege bits; nor is group
  // or world write: another user on the host could change code that hooks and instances run
  const bits = (mode ?? 0) & 0o777;
  return (bits === 0 ? fallback : bits) & ~0o022;
}

/** a pax mtime can be any text; an unreadable one is left out rather than failing utimes */
const validDate = (d: Date | undefined) => (d && Number.isFinite(d.getTime()) ? d : undefined);
const depth = (rel: string) => rel.split('/').length;

function writeAll(fd: number, chunks: Buffer[]): void {
  if (chunks.length === 0) return;
  let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  while (buf.length > 0) buf = buf.subarray(fs.writeSync(fd, buf));
}
