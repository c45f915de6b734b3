import { UnsafeArchiveError } from '../../errors.js';

/**
 * The path and link rules of archive extraction (the archive is attacker-controlled). The guard
 * keeps a model of everything the archive has created so far, so one entry is judged together
 * with the entries before it: a file may not be written through a symlink of the same archive,
 * a hard link may only point at a regular file extracted earlier. Extraction runs the same guard
 * twice: over a listing of the whole archive before anything is written, then again while
 * writing, so a check that depends on order cannot be dodged between the passes.
 */

export type EntryKind = 'file' | 'dir' | 'symlink' | 'hardlink';

export interface GuardEntry {
  /** the name as stored in the archive; messages quote it */
  rawPath: string;
  /** the name to judge when it differs from rawPath (zip: backslashes read as '/') */
  path?: string;
  /** what the entry is, or a description of a type that is never allowed ("a FIFO") */
  kind: EntryKind | { unsupported: string };
  /** symlink target or hard link path, as stored */
  linkTarget?: string;
}

export interface Admitted {
  /** normalised path relative to the release: no '', '.', '..' components, '/'-separated */
  path: string;
  kind: EntryKind;
  /** an earlier non-directory entry has this path and must be removed first */
  replace: boolean;
  /** symlink: the target as stored; hard link: the normalised path of the linked file */
  linkTarget?: string;
}

type Node = 'file' | 'dir' | 'symlink';

export function unsafeEntry(archive: string, rawPath: string, reason: string): UnsafeArchiveError {
  // JSON quoting keeps control characters of a hostile name out of the terminal
  return new UnsafeArchiveError(`${archive}: entry ${JSON.stringify(rawPath)} ${reason}; archive refused`);
}

const isAbsolute = (p: string) => p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:/.test(p);
/** case and Unicode form are folded so a case-insensitive file system cannot alias a symlink */
const fold = (p: string) => p.normalize('NFC').toLowerCase();
const kindName = (k: EntryKind) => (k === 'dir' ? 'directory' : k === 'hardlink' ? 'hard link' : k);

export class EntryGuard {
  private readonly nodes = new Map<string, Node>();
  private readonly symlinks = new Map<string, string>();
  /** grows only: a path that once was a symlink is never traversed, even after replacement */
  private readonly symlinkKeys = new Set<string>();

  constructor(
    private readonly archive: string,
    private readonly strip: number,
  ) {}

  /** Judges one entry; null means "skip silently" (stripped away, or the release root itself). */
  admit(entry: GuardEntry): Admitted | null {
    const refuse = (reason: string) => unsafeEntry(this.archive, entry.rawPath, reason);
    const kind = entry.kind;
    if (typeof kind !== 'string') {
      throw refuse(`is ${kind.unsupported}; only regular files, directories, symlinks and hard links are allowed`);
    }
    const parts = this.components(entry.path ?? entry.rawPath, refuse);
    if (parts === null) return null;
    if (parts.length === 0) {
      if (kind === 'dir') return null; // "./": the release directory itself
      throw refuse('has an empty path');
    }
    const path = parts.join('/');
    this.checkParents(parts, refuse);
    const existing = this.nodes.get(path);
    if (existing === 'dir' && kind !== 'dir') throw refuse(`would replace a directory with a ${kindName(kind)}`);

    let linkTarget: string | undefined;
    if (kind === 'symlink') {
      linkTarget = entry.linkTarget ?? '';
      const why = this.symlinkProblem(parts.slice(0, -1), linkTarget, false);
      if (why) throw refuse(why);
    } else if (kind === 'hardlink') {
      linkTarget = this.hardLinkTarget(entry.linkTarget ?? '', path, refuse);
    }

    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (!this.nodes.has(parent)) this.nodes.set(parent, 'dir');
    }
    this.nodes.set(path, kind === 'hardlink' ? 'file' : kind);
    if (kind === 'symlink') {
      this.symlinks.set(path, linkTarget!);
      this.symlinkKeys.add(fold(path));
    } else {
      this.symlinks.delete(path);
    }
    return { path, kind, replace: existing !== undefined && existing !== 'dir', ...(linkTarget !== undefined ? { linkTarget } : {}) };
  }

  /**
   * Once every entry is known: follows each symlink through the final tree. A target may only
   * use ".." while every component before it is a real directory of the release; after a
   * symlink (or a name the archive did not create) the kernel would resolve ".." somewhere the
   * lexical check cannot see, e.g. `a -> ..` plus `b -> a/..` leaves the release.
   */
  finish(): void {
    for (const [path, target] of this.symlinks) {
      const why = this.symlinkProblem(path.split('/').slice(0, -1), target, true);
      if (why) throw unsafeEntry(this.archive, path, why);
    }
  }

  /** Normalised components of an entry path after stripping, or null when stripped away. */
  private components(raw: string, refuse: (reason: string) => Error): string[] | null {
    if (raw.includes('\0')) throw refuse('contains a NUL byte');
    if (isAbsolute(raw)) throw refuse('is an absolute path');
    let parts = raw.split('/').filter((c) => c !== '');
    if (parts.includes('..')) throw refuse('escapes the release directory (".." in path)');
    if (this.strip > 0) {
      // as GNU tar: entries with no components left after --strip-components are skipped
      if (parts.length <= this.strip) return null;
      parts = parts.slice(this.strip);
    }
    return parts.filter((c) => c !== '.');
  }

  /** Every parent must be a directory this archive made (or will make), never a symlink. */
  private checkParents(parts: string[], refuse: (reason: string) => Error): void {
    for (let i = 1; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      if (this.symlinkKeys.has(fold(parent))) {
        throw refuse(`would be written through the symlink ${JSON.stringify(parent)} created earlier in this archive`);
      }
      const node = this.nodes.get(parent);
      if (node !== undefined && node !== 'dir') throw refuse(`has a parent ${JSON.stringify(parent)} that is not a directory`);
    }
  }

  private hardLinkTarget(raw: string, self: string, refuse: (reason: string) => Error): string {
    const quoted = JSON.stringify(raw);
    if (raw === '' || raw.includes('\0')) throw refuse('is a hard link without a valid target');
    if (isAbsolute(raw)) throw refuse(`is a hard link to the absolute path ${quoted}`);
    let parts = raw.split('/').filter((c) => c !== '');
    if (parts.includes('..')) throw refuse(`is a hard link to ${quoted}, which escapes the release directory (".." in path)`);
    if (parts.length <= this.strip) throw refuse(`is a hard link to ${quoted}, which is not extracted`);
    parts = parts.slice(this.strip).filter((c) => c !== '.');
    const target = parts.join('/');
    if (target === '' || target === self) throw refuse(`is a hard link to itself`);
    this.checkParents(parts, (why) => refuse(`is a hard link to ${quoted}, which ${why}`));
    if (this.nodes.get(target) !== 'file') {
      throw refuse(`is a hard link to ${quoted}, which is not a regular file extracted earlier from this archive`);
    }
    return target;
  }

  /**
   * Why a symlink in directory `dir` (components) pointing at `target` is not acceptable, or
   * null. `strict` adds the rule of finish(): ".." only while every component so far is a known
   * real directory.
   */
  private symlinkProblem(dir: string[], target: string, strict: boolean): string | null {
    const quoted = JSON.stringify(target);
    if (target === '' || target.includes('\0')) return 'is a symlink without a valid target';
    if (isAbsolute(target)) return `is a symlink to the absolute path ${quoted}`;
    const stack = [...dir];
    let opaque = false;
    // backslashes count as separators too: stricter than POSIX, never looser
    for (const c of target.split(/[/\\]/)) {
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length === 0) return `is a symlink to ${quoted}, which points outside the release directory`;
        if (strict && opaque) {
          return `is a symlink to ${quoted}, which uses ".." after a symlink or a path the archive does not create`;
        }
        stack.pop();
        continue;
      }
      stack.push(c);
      if (strict && !opaque) opaque = !this.isRealDir(stack.join('/'));
    }
    return null;
  }

  private isRealDir(path: string): boolean {
    return this.nodes.get(path) === 'dir' && !this.symlinkKeys.has(fold(path));
  }
}
