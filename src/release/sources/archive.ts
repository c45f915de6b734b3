import fs from 'node:fs/promises';
import path from 'node:path';
import { DeployerError, SourceError, errorMessage } from '../../errors.js';
import type { ArchiveEntry, EntryVisitor } from './archive-entry.js';
import { EntryGuard, type Admitted } from './archive-guard.js';
import { walkTar } from './archive-tar.js';
import { ReleaseWriter, type ExtractResult } from './archive-writer.js';
import { walkZip } from './archive-zip.js';

export type { ExtractResult } from './archive-writer.js';
export type ArchiveFormat = 'tar.gz' | 'tar.bz2' | 'tar' | 'zip';

const suffixes: [string, ArchiveFormat][] = [
  ['.tar.gz', 'tar.gz'],
  ['.tgz', 'tar.gz'],
  ['.tar.bz2', 'tar.bz2'],
  ['.tbz2', 'tar.bz2'],
  ['.tbz', 'tar.bz2'],
  ['.tar', 'tar'],
  ['.zip', 'zip'],
];

/**
 * The format a file name or URL names by its suffix (case-insensitive), or null. A URL's query
 * and fragment do not count (`…/app.tar.gz?token=x`).
 */
export function detectArchiveFormat(nameOrUrl: string): ArchiveFormat | null {
  const byName = (p: string) => suffixes.find(([s]) => p.toLowerCase().endsWith(s))?.[1] ?? null;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(nameOrUrl)) {
    try {
      return byName(new URL(nameOrUrl).pathname);
    } catch {
      /* not a URL after all: judge it as a name */
    }
  }
  // a bare path may carry a query or fragment too; a name that merely contains '?' or '#' still works
  return byName(nameOrUrl) ?? byName(nameOrUrl.replace(/[?#].*$/s, ''));
}

/**
 * Extracts `file` into `destDir` (which exists and is empty). The archive is untrusted: it is
 * first read to the end and every entry judged (EntryGuard) without writing anything; only an
 * archive that passes as a whole is then read again and written, with the same checks run again
 * on the way. Any refusal throws UnsafeArchiveError; a damaged archive throws SourceError. On an
 * error the caller removes destDir; nothing is ever written outside it.
 */
export async function extractArchive(
  file: string,
  destDir: string,
  opts: { format: ArchiveFormat; stripComponents?: number; maxBytes?: number },
): Promise<ExtractResult> {
  const name = path.basename(file);
  const strip = opts.stripComponents ?? 0;
  if (!Number.isInteger(strip) || strip < 0) throw new SourceError(`${name}: stripComponents must be a whole number ≥ 0, got ${strip}`);
  const walk = walker(file, opts.format);
  // realpath: the writer's "stays inside" checks compare against the real directory
  const dest = await fs.realpath(destDir).catch((err: unknown) => {
    throw new SourceError(`cannot extract ${name}: ${errorMessage(err)}`, { cause: err });
  });

  const listing = new EntryGuard(name, strip);
  await walk(async (e) => void listing.admit(e));
  listing.finish();

  const guard = new EntryGuard(name, strip);
  const writer = new ReleaseWriter(dest, name, opts.maxBytes);
  await walk(async (e) => {
    const admitted = guard.admit(e);
    if (!admitted) return;
    try {
      await write(writer, e, admitted);
    } catch (err) {
      if (err instanceof DeployerError) throw err;
      throw new SourceError(`${name}: cannot extract entry ${JSON.stringify(e.rawPath)}: ${errorMessage(err)}`, { cause: err });
    }
  });
  guard.finish();
  try {
    writer.finish();
  } catch (err) {
    throw new SourceError(`${name}: cannot set directory modes: ${errorMessage(err)}`, { cause: err });
  }
  return writer.result;
}

function walker(file: string, format: ArchiveFormat): (visit: EntryVisitor) => Promise<void> {
  switch (format) {
    case 'zip':
      return (visit) => walkZip(file, visit);
    case 'tar.bz2':
      return (visit) => walkTar(file, true, visit);
    case 'tar':
    case 'tar.gz':
      return (visit) => walkTar(file, false, visit);
  }
}

async function write(w: ReleaseWriter, e: ArchiveEntry, { path: rel, kind, replace, linkTarget }: Admitted): Promise<void> {
  switch (kind) {
    case 'dir':
      return w.dir(rel, e, replace);
    case 'file':
      return w.file(rel, e, replace, e.body());
    case 'symlink':
      return w.symlink(rel, e, replace, linkTarget!);
    case 'hardlink':
      return w.hardlink(rel, e, replace, linkTarget!);
  }
}
