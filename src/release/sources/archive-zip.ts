import path from 'node:path';
import type { Readable } from 'node:stream';
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import { DeployerError, SourceError, errorMessage } from '../../errors.js';
import type { ArchiveEntry, EntryVisitor } from './archive-entry.js';
import { unsafeEntry, type GuardEntry } from './archive-guard.js';

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
/** a symlink target longer than PATH_MAX is not a symlink anyone means */
const MAX_LINK_TARGET = 4096;

/**
 * Reads a zip archive with yauzl, one entry at a time (lazyEntries), and hands each entry to
 * `visit`. Names are decoded here rather than by yauzl (decodeStrings: false) because yauzl's
 * own name check fails the whole archive with a message that does not follow ours; the guard
 * judges the names instead. Unix type and permission bits live in the upper 16 bits of the
 * external attributes; a symlink's target is the entry's content.
 */
export async function walkZip(file: string, visit: EntryVisitor): Promise<void> {
  const name = path.basename(file);
  let zip: ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true });
  } catch (err) {
    const io = (err as NodeJS.ErrnoException).code !== undefined; // ENOENT, EACCES: not the archive's fault
    throw new SourceError(`${io ? `cannot read ${name}` : `${name}: not a valid zip archive`}: ${errorMessage(err)}`, { cause: err });
  }
  try {
    for await (const entry of zip.eachEntry()) await visit(await toEntry(zip, entry, name));
  } catch (err) {
    if (err instanceof DeployerError) throw err;
    throw new SourceError(`${name}: not a valid zip archive: ${errorMessage(err)}`, { cause: err });
  } finally {
    if (zip.isOpen) zip.close();
  }
}

async function toEntry(zip: ZipFile, entry: Entry, archive: string): Promise<ArchiveEntry> {
  // as stored (backslashes kept) for messages; judged with backslashes read as separators
  const rawPath = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
  const judged = rawPath.replace(/\\/g, '/');
  const unix = (entry.externalFileAttributes >>> 16) & 0xffff;
  const kind = kindOf(unix & S_IFMT, judged.endsWith('/'));
  const open = async () => {
    if (!entry.canDecodeFileData()) {
      throw new SourceError(
        `${archive}: entry ${JSON.stringify(rawPath)} is encrypted or uses an unsupported compression method (${entry.compressionMethod})`,
      );
    }
    return zip.openReadStreamPromise(entry);
  };
  let linkTarget: string | undefined;
  if (kind === 'symlink') linkTarget = await readLinkTarget(await open(), archive, rawPath);
  else if (kind === 'file' && !entry.canDecodeFileData()) await open(); // fail while listing, before any write
  return {
    rawPath,
    path: judged,
    kind,
    ...(linkTarget !== undefined ? { linkTarget } : {}),
    mode: unix & 0o7777,
    mtime: entry.getLastModDate(),
    body: () => stream(open),
  };
}

function kindOf(type: number, slash: boolean): GuardEntry['kind'] {
  if (type === S_IFLNK) return 'symlink';
  if (type === S_IFDIR || slash) return 'dir';
  if (type === 0 || type === S_IFREG) return 'file';
  switch (type) {
    case 0o020000:
      return { unsupported: 'a character device' };
    case 0o060000:
      return { unsupported: 'a block device' };
    case 0o010000:
      return { unsupported: 'a FIFO' };
    case 0o140000:
      return { unsupported: 'a socket' };
    default:
      return { unsupported: `of the unknown file type 0o${type.toString(8)}` };
  }
}

async function* stream(open: () => Promise<Readable>): AsyncGenerator<Buffer> {
  yield* (await open()) as AsyncIterable<Buffer>;
}

async function readLinkTarget(s: Readable, archive: string, rawPath: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of s as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_LINK_TARGET) {
      s.destroy();
      throw unsafeEntry(archive, rawPath, 'is a symlink with an overlong target');
    }
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}
