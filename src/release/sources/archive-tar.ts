import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { Parser, type ReadEntry } from 'tar';
import { DeployerError, SourceError, UnsafeArchiveError, errorMessage } from '../../errors.js';
import type { ArchiveEntry, EntryVisitor } from './archive-entry.js';
import { unsafeEntry, type GuardEntry } from './archive-guard.js';

/**
 * Reads a tar archive (plain, gzip; bzip2 through the `bzip2` program, which node-tar cannot
 * decompress) with node-tar's Parser and hands each entry to `visit`, one at a time. Only the
 * parser is used, not node-tar's Unpack: the writing is ours (see archive-writer.ts), so that
 * tar and zip go through the same checks. The parser runs strict: a checksum failure, a
 * truncated or undecompressable stream becomes an error instead of a skipped entry.
 */
export async function walkTar(file: string, bzip2: boolean, visit: EntryVisitor): Promise<void> {
  const name = path.basename(file);
  const src = bzip2 ? bunzip(file, name) : readFile(file, name);
  try {
    await parse(src.stream, name, visit);
  } catch (err) {
    src.stop();
    const srcErr = await src.finished;
    // a refusal stands; otherwise the decompressor's own complaint explains a parse error best
    throw err instanceof UnsafeArchiveError ? err : (srcErr ?? err);
  }
  const srcErr = await src.finished;
  if (srcErr) throw srcErr;
}

interface Source {
  stream: Readable;
  stop(): void;
  /** settles when the source is done: with the error that explains a failure, or null */
  finished: Promise<SourceError | null>;
}

function readFile(file: string, name: string): Source {
  const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
  let error: Error | undefined;
  stream.on('error', (e) => (error = e));
  const finished = new Promise<SourceError | null>((resolve) =>
    stream.once('close', () => resolve(error ? new SourceError(`cannot read ${name}: ${error.message}`, { cause: error }) : null)),
  );
  return { stream, stop: () => stream.destroy(), finished };
}

function bunzip(file: string, name: string): Source {
  // argv, no shell; `--` so a file name starting with '-' is not an option
  const child = spawn('bzip2', ['-dc', '--', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let spawnError: NodeJS.ErrnoException | undefined;
  let stopped = false;
  child.stderr.on('data', (c: Buffer) => {
    if (stderr.length < 4096) stderr += c.toString('utf8');
  });
  child.on('error', (e) => (spawnError = e));
  const finished = new Promise<SourceError | null>((resolve) =>
    child.on('close', (code, signal) => {
      if (spawnError?.code === 'ENOENT') {
        resolve(new SourceError(`cannot extract ${name}: bzip2 is not installed`, { hint: 'install bzip2 (e.g. apt-get install bzip2)' }));
      } else if (spawnError) {
        resolve(new SourceError(`cannot extract ${name}: cannot run bzip2: ${spawnError.message}`, { cause: spawnError }));
      } else if ((code !== null && code !== 0) || (signal !== null && !stopped)) {
        // bzip2's first line says what is wrong; the rest is advice about bzip2recover
        const first = stderr.split('\n').find((l) => l.trim() !== '');
        const why = first?.replace(/^bzip2:\s*/, '').replace(/[;:]\s*$/, '') ?? (signal ? `killed by ${signal}` : `exit status ${code}`);
        resolve(new SourceError(`${name}: bzip2 cannot decompress it: ${why}`));
      } else {
        resolve(null);
      }
    }),
  );
  const stop = () => {
    stopped = true;
    child.stdout.destroy();
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  return { stream: child.stdout, stop, finished };
}

function parse(stream: Readable, name: string, visit: EntryVisitor): Promise<void> {
  return new Promise((resolve, reject) => {
    const parser = new Parser({ strict: true });
    let failed = false;
    let current: ReadEntry | undefined;
    let chain = Promise.resolve();
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      stream.unpipe();
      // stop a write in progress, then settle only once it has returned: the caller removes
      // the release directory on error and nothing of ours may still be writing into it
      current?.destroy();
      const error = err instanceof DeployerError ? err : new SourceError(`${name}: not a valid tar archive: ${errorMessage(err)}`, { cause: err });
      void chain.then(() => reject(error));
    };
    parser.on('error', fail);
    // unknown types (and oversized pax headers) are skipped by node-tar: here they refuse
    parser.on('ignoredEntry', (e: ReadEntry) =>
      fail(unsafeEntry(name, e.path, e.meta ? 'has an oversized extended header' : `has the unsupported tar type ${JSON.stringify(String(e.type))}`)),
    );
    parser.on('entry', (e: ReadEntry) => {
      // after destroy() the parser may still write into the entry; that must not crash the process
      e.on('error', () => {});
      // the parser emits the next entry only after this one ended, i.e. after resume() below
      chain = chain
        .then(async () => {
          if (failed) return;
          current = e;
          await visit(toEntry(e));
          e.resume();
          current = undefined;
        })
        .catch(fail);
    });
    parser.on('end', () => void chain.then(() => (failed ? undefined : resolve())));
    stream.on('error', fail);
    stream.pipe(parser);
  });
}

function toEntry(e: ReadEntry): ArchiveEntry {
  return {
    rawPath: e.path,
    // old tars mark a directory as a plain file whose name ends in '/'
    kind: e.path.endsWith('/') && kindOf(String(e.type)) === 'file' ? 'dir' : kindOf(String(e.type)),
    ...(e.linkpath !== undefined ? { linkTarget: e.linkpath } : {}),
    mode: e.mode,
    mtime: e.mtime,
    body: () => e,
  };
}

function kindOf(type: string): GuardEntry['kind'] {
  switch (type) {
    case 'File':
    case 'OldFile':
    case 'ContiguousFile':
      return 'file';
    case 'Directory':
    case 'GNUDumpDir':
      return 'dir';
    case 'SymbolicLink':
      return 'symlink';
    case 'Link':
      return 'hardlink';
    case 'CharacterDevice':
      return { unsupported: 'a character device' };
    case 'BlockDevice':
      return { unsupported: 'a block device' };
    case 'FIFO':
      return { unsupported: 'a FIFO' };
    default:
      return { unsupported: `of the unsupported tar type ${JSON.stringify(type)}` };
  }
}
