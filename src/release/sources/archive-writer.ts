import { constants as fsc } from 'node:fs';
import fs from 'node:fs/promises';
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

/**
 * Creates the entries the guard admitted, inside destDir only. It does not trust the guard
 * alone: paths are re-checked to stay below destDir, parent directories are created here one
 * component at a time and an existing one must be a real directory (lstat, never followed), and
 * files are opened O_EXCL|O_NOFOLLOW so an existing name, symlink or not, is never written
 * through. Directories are created owner-writable and get their real mode and mtime at the end,
 * deepest first, so a read-only directory in the archive does not block its own contents and
 * creating children does not spoil the parent's mtime. Nothing is chowned.
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
  ) {}

  async dir(rel: string, meta: WriteMeta, replace: boolean): Promise<void> {
    const abs = await this.prepare(rel, meta.rawPath, replace);
    if (!this.dirs.has(rel)) await this.mkdirOnce(abs, rel, meta.rawPath);
    this.dirMeta.set(rel, { mode: perm(meta.mode, 0o755), mtime: validDate(meta.mtime) });
  }

  /** Streams `body` into a new file. */
  async file(rel: string, meta: WriteMeta, replace: boolean, body: AsyncIterable<Buffer>): Promise<void> {
    const abs = await this.prepare(rel, meta.rawPath, replace);
    const fh = await fs.open(abs, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
    try {
      // batch small decompressor chunks into fewer write calls
      let batch: Buffer[] = [];
      let batched = 0;
      for await (const chunk of body) {
        batch.push(chunk);
        batched += chunk.length;
        if (batched >= 1 << 20) {
          await writeAll(fh, batch);
          this.result.bytes += batched;
          batch = [];
          batched = 0;
        }
      }
      await writeAll(fh, batch);
      this.result.bytes += batched;
      // fchmod, not the open mode: the umask must not change what the archive says
      await fh.chmod(perm(meta.mode, 0o644));
      const mtime = validDate(meta.mtime);
      if (mtime) await fh.utimes(mtime, mtime);
    } finally {
      await fh.close();
    }
    this.result.files++;
  }

  async symlink(rel: string, meta: WriteMeta, replace: boolean, target: string): Promise<void> {
    const abs = await this.prepare(rel, meta.rawPath, replace);
    await fs.symlink(target, abs);
    const mtime = validDate(meta.mtime);
    // best effort: not every file system keeps a symlink's own times
    if (mtime) await fs.lutimes(abs, mtime, mtime).catch(() => {});
    this.result.symlinks++;
  }

  async hardlink(rel: string, meta: WriteMeta, replace: boolean, targetRel: string): Promise<void> {
    const target = this.inside(targetRel, meta.rawPath);
    const abs = await this.prepare(rel, meta.rawPath, replace);
    // link(2) does not follow a final symlink, but its parents are followed: they are ours and real
    const st = await fs.lstat(target);
    if (!st.isFile()) throw unsafeEntry(this.archive, meta.rawPath, 'is a hard link to something that is not a regular file');
    await fs.link(target, abs);
    this.result.files++;
  }

  /** Applies directory modes and mtimes, deepest first. */
  async finish(): Promise<void> {
    const all = [...this.dirMeta].sort((a, b) => depth(b[0]) - depth(a[0]));
    for (const [rel, { mode, mtime }] of all) {
      const abs = path.join(this.destDir, rel);
      await fs.chmod(abs, mode);
      if (mtime) await fs.utimes(abs, mtime, mtime);
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
  private async prepare(rel: string, rawPath: string, replace: boolean): Promise<string> {
    const abs = this.inside(rel, rawPath);
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.dirs.has(parent)) continue;
      await this.mkdirOnce(path.join(this.destDir, parent), parent, rawPath);
      this.dirMeta.set(parent, { mode: 0o755, mtime: undefined });
    }
    if (replace) {
      // only files, links and symlinks are replaced (the guard refuses replacing a directory);
      // unlink removes the name, never what a symlink points at
      await fs.unlink(abs).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    }
    return abs;
  }

  private async mkdirOnce(abs: string, rel: string, rawPath: string): Promise<void> {
    try {
      await fs.mkdir(abs, 0o700);
      this.result.dirs++;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const st = await fs.lstat(abs);
      if (!st.isDirectory()) {
        throw unsafeEntry(this.archive, rawPath, `would be written through ${JSON.stringify(rel)}, which is not a directory`);
      }
    }
    this.dirs.add(rel);
  }
}

function perm(mode: number | undefined, fallback: number): number {
  // setuid/setgid/sticky are dropped: a release is not a place for privilege bits
  const bits = (mode ?? 0) & 0o777;
  return bits === 0 ? fallback : bits;
}

/** a pax mtime can be any text; an unreadable one is left out rather than failing utimes */
const validDate = (d: Date | undefined) => (d && Number.isFinite(d.getTime()) ? d : undefined);
const depth = (rel: string) => rel.split('/').length;

async function writeAll(fh: fs.FileHandle, chunks: Buffer[]): Promise<void> {
  if (chunks.length === 0) return;
  let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
  while (buf.length > 0) {
    const { bytesWritten } = await fh.write(buf);
    buf = buf.subarray(bytesWritten);
  }
}
