import type { RunOptions, RunResult } from '../util/process.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface EntryInfo {
  type: EntryType;
  size: number;
  mtimeMs: number;
}

/**
 * The file operations Deployer needs on a host. Small on purpose: the SSH transport implements
 * the same interface. Paths are absolute paths on that host.
 */
export interface HostFs {
  readText(path: string): Promise<string | null>;
  /** up to `length` bytes from `offset` (fewer at the end of the file); null when it does not exist */
  readRange(path: string, offset: number, length: number): Promise<Buffer | null>;
  /** write to a temp file beside `path`, fsync, rename over `path`, fsync the directory */
  writeAtomic(path: string, data: string): Promise<void>;
  /** create `path` with `data` only if it does not exist yet; false when it exists */
  createExclusive(path: string, data: string): Promise<boolean>;
  appendLine(path: string, line: string): Promise<void>;
  // files written through here are created 0600: they are Deployer's state
  /** point `path` at `target` atomically (symlink to a temp name, then rename over) */
  symlinkAtomic(target: string, path: string): Promise<void>;
  readlink(path: string): Promise<string | null>;
  stat(path: string): Promise<EntryInfo | null>;
  list(dir: string): Promise<string[]>;
  /** private: the directory itself 0700 (created so, or tightened); see util/private-files.ts */
  mkdirp(path: string, opts?: { private?: boolean }): Promise<void>;
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** flush everything written under `path` to disk (before a pointer moves to it); says how */
  syncTree(path: string): Promise<string>;
}

export interface ProcessIdentity {
  pid: number;
  /** process start time as the host reports it, to tell a reused pid apart */
  start?: string;
  /** the host's boot id (/proc/sys/kernel/random/boot_id): a pid and start time from another boot say nothing */
  boot?: string;
}

/** One machine Deployer acts on: this one, or (later) one reached over SSH. */
export interface Transport {
  /** how the manifest names the host: `local`, `h1`, `deploy@10.0.0.5` */
  readonly name: string;
  readonly fs: HostFs;
  /** the machine's own hostname */
  hostname(): Promise<string>;
  /** the user Deployer acts as on that host */
  user(): Promise<string>;
  exec(argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** whether a process is alive (same pid and, when known, same start time) */
  processAlive(id: ProcessIdentity): Promise<boolean>;
  /** identity of the process Deployer runs as on that host (with the host's boot id, when known) */
  selfIdentity(): Promise<ProcessIdentity>;
}
