import type { GuardEntry } from './archive-guard.js';
import type { WriteMeta } from './archive-writer.js';

/** One entry of a tar or zip archive, in the shape the guard and the writer share. */
export interface ArchiveEntry extends GuardEntry, WriteMeta {
  /** the content of a regular file, streamed; call at most once */
  body: () => AsyncIterable<Buffer>;
}

/** Called once per entry, in archive order; the next entry is read after the promise settles. */
export type EntryVisitor = (entry: ArchiveEntry) => Promise<void>;
