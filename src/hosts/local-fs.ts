import { constants as fsc, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { asDiskFull } from '../errors.js';
import { PRIVATE_FILE, privateDir } from '../util/private-files.js';
import { syncTree } from './sync-tree.js';
import type { EntryInfo, HostFs } from './transport.js';

const tmpName = (path: string) => join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);

async function fsyncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined;
  try {
    fh = await fsp.open(dir, fsc.O_RDONLY | fsc.O_DIRECTORY);
    await fh.sync();
  } catch {
    /* some filesystems refuse fsync on directories; rename is still atomic */
  } finally {
    await fh?.close();
  }
}

async function writeSynced(path: string, data: string, flag: string): Promise<void> {
  const fh = await fsp.open(path, flag, PRIVATE_FILE);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
}

const isErr = (e: unknown, ...codes: string[]) => codes.includes((e as NodeJS.ErrnoException).code ?? '');

async function makeWritable(dir: string): Promise<void> {
  const st = await fsp.lstat(dir).catch(() => null);
  if (!st?.isDirectory()) return;
  await fsp.chmod(dir, (st.mode & 0o7777) | 0o700).catch(() => {});
  for (const name of await fsp.readdir(dir).catch(() => [] as string[])) await makeWritable(join(dir, name));
}

/** Runs a write to `path`; a full disk comes out as a DiskFullError naming it. */
async function writing<T>(path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (e) {
    throw asDiskFull(e, path);
  }
}

const unwrapped: HostFs = {
  async readText(path) {
    try {
      return await fsp.readFile(path, 'utf8');
    } catch (e) {
      if (isErr(e, 'ENOENT', 'ENOTDIR')) return null;
      throw e;
    }
  },

  async readRange(path, offset, length) {
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, 'r');
    } catch (e) {
      if (isErr(e, 'ENOENT', 'ENOTDIR')) return null;
      throw e;
    }
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  },

  async writeAtomic(path, data) {
    const tmp = tmpName(path);
    try {
      await writeSynced(tmp, data, 'wx');
      await fsp.rename(tmp, path);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fsyncDir(dirname(path));
  },

  async createExclusive(path, data) {
    // write the whole record under a temp name first, then link it into place: the lock file
    // appears complete or not at all, and link() fails if the name exists
    const tmp = tmpName(path);
    try {
      await writeSynced(tmp, data, 'wx');
      await fsp.link(tmp, path);
      await fsyncDir(dirname(path));
      return true;
    } catch (e) {
      if (isErr(e, 'EEXIST')) return false;
      throw e;
    } finally {
      await fsp.rm(tmp, { force: true });
    }
  },

  async appendLine(path, line) {
    const fh = await fsp.open(path, 'a', PRIVATE_FILE);
    const size = (await fh.stat()).size;
    try {
      // writeFile goes on after a short write (a filling disk) until it is all written or fails
      await fh.writeFile(line.endsWith('\n') ? line : `${line}\n`);
      await fh.sync();
    } catch (e) {
      // a write cut short (a full disk) leaves no half line behind
      await fh.truncate(size).catch(() => undefined);
      throw e;
    } finally {
      await fh.close();
    }
  },

  async symlinkAtomic(target, path) {
    const tmp = tmpName(path);
    await fsp.symlink(target, tmp);
    try {
      await fsp.rename(tmp, path);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await fsyncDir(dirname(path));
  },

  async readlink(path) {
    try {
      return await fsp.readlink(path);
    } catch (e) {
      if (isErr(e, 'ENOENT', 'EINVAL', 'ENOTDIR')) return null;
      throw e;
    }
  },

  async stat(path): Promise<EntryInfo | null> {
    try {
      const st = await fsp.lstat(path);
      const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
      return { type, size: st.size, mtimeMs: st.mtimeMs };
    } catch (e) {
      if (isErr(e, 'ENOENT', 'ENOTDIR')) return null;
      throw e;
    }
  },

  async list(dir) {
    try {
      return (await fsp.readdir(dir)).sort();
    } catch (e) {
      if (isErr(e, 'ENOENT', 'ENOTDIR')) return [];
      throw e;
    }
  },

  async mkdirp(path, opts) {
    if (opts?.private) await privateDir(path);
    else await fsp.mkdir(path, { recursive: true });
  },

  async remove(path) {
    try {
      await fsp.rm(path, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      // a release may hold read-only directories (kept from its source): make them writable, retry
      if (!isErr(e, 'EACCES', 'EPERM')) throw e;
      await makeWritable(path);
      await fsp.rm(path, { recursive: true, force: true, maxRetries: 3 });
    }
  },

  async rename(from, to) {
    await fsp.rename(from, to);
    await fsyncDir(dirname(to));
  },

  syncTree: (path) => syncTree(path),
};

/** Every write of the local file system; on a full disk, a DiskFullError naming the path it was writing. */
export const localFs: HostFs = {
  ...unwrapped,
  writeAtomic: (path, data) => writing(path, () => unwrapped.writeAtomic(path, data)),
  createExclusive: (path, data) => writing(path, () => unwrapped.createExclusive(path, data)),
  appendLine: (path, line) => writing(path, () => unwrapped.appendLine(path, line)),
  symlinkAtomic: (target, path) => writing(path, () => unwrapped.symlinkAtomic(target, path)),
  mkdirp: (path, opts) => writing(path, () => unwrapped.mkdirp(path, opts)),
  rename: (from, to) => writing(to, () => unwrapped.rename(from, to)),
};
