import { constants as fsc, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { PRIVATE_FILE, privateDir } from '../util/private-files.js';
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

export const localFs: HostFs = {
  async readText(path) {
    try {
      return await fsp.readFile(path, 'utf8');
    } catch (e) {
      if (isErr(e, 'ENOENT', 'ENOTDIR')) return null;
      throw e;
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
    await writeSynced(tmp, data, 'wx');
    try {
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
    try {
      await fh.write(line.endsWith('\n') ? line : `${line}\n`);
      await fh.sync();
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
};
