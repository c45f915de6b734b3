import { createHash } from 'node:crypto';
import { constants as fsc, promises as fsp, type Dirent, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { ExcludeMatcher } from './exclude.js';

export interface InstallOptions {
  /** previous release: files unchanged since it are hard-linked from it instead of copied */
  previous?: string;
  exclude?: ExcludeMatcher;
  /** move files out of `src` (a staging dir on the same filesystem) instead of copying */
  move?: boolean;
  /** how many file operations run at once */
  concurrency?: number;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface InstallStats {
  files: number;
  dirs: number;
  symlinks: number;
  /** files written anew (copied or moved) and their bytes */
  copiedFiles: number;
  copiedBytes: number;
  /** files hard-linked from the previous release and their bytes */
  linkedFiles: number;
  linkedBytes: number;
  skipped: number;
  /** sha256 over every entry's path, type, mode, size and (for links) target, in path order */
  checksum: string;
}

/**
 * Installs the tree `src` into the new directory `dest`. A file whose size and mtime (or, when
 * the mtime differs, whose content) match the same path in `previous` becomes a hard link to
 * it, so a redeploy with one changed file costs about one file of time and disk.
 */
export async function installTree(src: string, dest: string, opts: InstallOptions = {}): Promise<InstallStats> {
  const stats: InstallStats = { files: 0, dirs: 0, symlinks: 0, copiedFiles: 0, copiedBytes: 0, linkedFiles: 0, linkedBytes: 0, skipped: 0, checksum: '' };
  const entries: string[] = [];
  const limit = limiter(opts.concurrency ?? 16);
  const tasks: Promise<void>[] = [];

  const walk = async (rel: string, prevDirOk: boolean) => {
    opts.signal?.throwIfAborted();
    const srcDir = join(src, rel);
    const destDir = join(dest, rel);
    await fsp.mkdir(destDir, { recursive: rel === '' });
    const list = (await fsp.readdir(srcDir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
    const subdirs: [string, boolean][] = [];
    for (const d of list) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (opts.exclude?.(r, d.isDirectory())) continue;
      if (d.isDirectory()) {
        stats.dirs++;
        const prevOk = prevDirOk && opts.previous !== undefined && (await isRealDir(join(opts.previous, r)));
        subdirs.push([r, prevOk]);
      } else if (d.isSymbolicLink()) {
        stats.symlinks++;
        const target = await fsp.readlink(join(src, r));
        entries.push(`l ${r} ${target}`);
        await fsp.symlink(target, join(dest, r));
      } else if (d.isFile()) {
        tasks.push(limit(() => installFile(r, d, prevDirOk)));
      } else {
        stats.skipped++;
        opts.onWarning?.(`skipped ${r}: not a regular file, directory or symlink`);
      }
    }
    for (const [r, prevOk] of subdirs) {
      entries.push(`d ${r}`);
      await walk(r, prevOk);
    }
    void destDir;
  };

  const installFile = async (rel: string, _d: Dirent, prevDirOk: boolean) => {
    opts.signal?.throwIfAborted();
    const from = join(src, rel);
    const to = join(dest, rel);
    const st = await fsp.stat(from);
    stats.files++;
    entries.push(`f ${rel} ${(st.mode & 0o7777).toString(8)} ${st.size}`);
    if (prevDirOk && opts.previous !== undefined) {
      const prevPath = join(opts.previous, rel);
      const prev = await fsp.lstat(prevPath).catch(() => null);
      if (prev?.isFile() && sameMeta(st, prev) && (sameMtime(st, prev) || (await sameContent(from, prevPath, st.size)))) {
        try {
          await fsp.link(prevPath, to);
          stats.linkedFiles++;
          stats.linkedBytes += st.size;
          return;
        } catch (e) {
          // too many links on one inode, or a filesystem without hard links: copy instead
          if (!['EMLINK', 'EPERM', 'EXDEV', 'ENOTSUP'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
        }
      }
    }
    if (opts.move) await fsp.rename(from, to);
    else {
      await fsp.copyFile(from, to, fsc.COPYFILE_FICLONE);
      await fsp.chmod(to, st.mode & 0o7777);
      await fsp.utimes(to, st.atime, st.mtime);
    }
    stats.copiedFiles++;
    stats.copiedBytes += st.size;
  };

  await walk('', opts.previous !== undefined && (await isRealDir(opts.previous)));
  await Promise.all(tasks);
  entries.sort();
  stats.checksum = createHash('sha256').update(entries.join('\n')).digest('hex');
  return stats;
}

const sameMeta = (a: Stats, b: Stats) => a.size === b.size && (a.mode & 0o7777) === (b.mode & 0o7777);
const sameMtime = (a: Stats, b: Stats) => Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs);

async function isRealDir(p: string): Promise<boolean> {
  const st = await fsp.lstat(p).catch(() => null);
  return st?.isDirectory() ?? false;
}

/** Byte-for-byte comparison of two files of the same size. */
export async function sameContent(a: string, b: string, size: number): Promise<boolean> {
  if (size === 0) return true;
  const [fa, fb] = await Promise.all([fsp.open(a, 'r'), fsp.open(b, 'r')]);
  try {
    const chunk = Math.min(size, 256 * 1024);
    const ba = Buffer.allocUnsafe(chunk);
    const bb = Buffer.allocUnsafe(chunk);
    for (let pos = 0; pos < size; ) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, chunk, pos), fb.read(bb, 0, chunk, pos)]);
      if (ra.bytesRead !== rb.bytesRead || ra.bytesRead === 0) return false;
      if (!ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      pos += ra.bytesRead;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Runs at most `n` of the given async functions at once. */
function limiter(n: number) {
  let active = 0;
  const queue: (() => void)[] = [];
  return <T>(fn: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = () => {
        active++;
        fn()
          .then(resolve, reject)
          .finally(() => {
            active--;
            queue.shift()?.();
          });
      };
      if (active < n) start();
      else queue.push(start);
    });
}
