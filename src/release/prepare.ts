import { promises as fsp } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { SourceError } from '../errors.js';
import type { SourceConfig } from '../manifest/schema/source.js';
import { excludeMatcher } from './exclude.js';
import { installTree, type InstallStats } from './install-tree.js';
import { linkShared } from './shared.js';
import { privateDir } from '../util/private-files.js';
import { displayUrl } from '../util/url.js';

export interface PrepareInput {
  source: SourceConfig;
  /** directory of the manifest: relative source paths start there */
  manifestDir: string;
  releaseDir: string;
  /** the live release, to hard-link unchanged files from */
  previousDir?: string;
  /** scratch directory on the same filesystem as releaseDir */
  tmpDir: string;
  /** where git mirrors are cached */
  gitCacheDir: string;
  appRoot: string;
  sharedRoot: string;
  sharedDirs: readonly string[];
  sharedFiles: readonly string[];
  linkUnchanged: boolean;
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export interface PreparedRelease {
  source: string;
  sourceType: SourceConfig['type'];
  gitCommit: string | null;
  gitBranch: string | null;
  /** a version found in the source: git describe, or package.json's version */
  detectedVersion: string | null;
  checksum: string;
  install: InstallStats;
}

/** Fetches the source and installs it as a complete release directory (meta not yet written). */
export async function prepareRelease(input: PrepareInput): Promise<PreparedRelease> {
  const { source } = input;
  const exclude = [...source.exclude];
  const opts = {
    ...(input.linkUnchanged && input.previousDir ? { previous: input.previousDir } : {}),
    ...(input.onWarning ? { onWarning: input.onWarning } : {}),
    ...(input.signal ? { signal: input.signal } : {}),
  };
  // scratch space (a downloaded archive, a git export): not for other users
  await privateDir(input.tmpDir);
  let prepared: Omit<PreparedRelease, 'detectedVersion'>;
  let gitDescribe: string | null = null;

  if (source.type === 'local') {
    const dir = resolve(input.manifestDir, source.path ?? source.url ?? '.');
    const st = await fsp.stat(dir).catch(() => null);
    if (!st?.isDirectory()) throw new SourceError(`source directory ${dir} does not exist or is not a directory`);
    // an app_root inside the source tree would otherwise copy releases into releases
    const inside = relative(dir, input.appRoot);
    if (inside && !inside.startsWith('..') && !inside.startsWith('/')) exclude.push(`/${inside}`);
    const install = await installTree(dir, input.releaseDir, { ...opts, exclude: excludeMatcher(exclude) });
    prepared = { source: dir, sourceType: 'local', gitCommit: null, gitBranch: null, checksum: `tree:${install.checksum}`, install };
  } else if (source.type === 'archive') {
    // archive and git code (tar, zip) loads only for deploys that need it
    const { detectArchiveFormat, extractArchive } = await import('./sources/archive.js');
    const { downloadToFile, sha256File } = await import('./sources/download.js');
    const where = (source.url ?? source.path)!;
    const format = detectArchiveFormat(where);
    if (!format) throw new SourceError(`cannot tell the archive format of ${where}`);
    const isUrl = /^https?:\/\//i.test(where);
    const staging = await fsp.mkdtemp(join(input.tmpDir, 'extract-'));
    try {
      let file: string;
      let sha256: string;
      if (isUrl) {
        file = join(input.tmpDir, `download-${process.pid}.${format}`);
        ({ sha256 } = await downloadToFile(where, file, source.sha256 ? { expectedSha256: source.sha256 } : {}));
      } else {
        file = resolve(input.manifestDir, where);
        if (!(await fsp.stat(file).catch(() => null))?.isFile()) throw new SourceError(`archive ${file} does not exist`);
        sha256 = await sha256File(file);
        if (source.sha256 && sha256 !== source.sha256.toLowerCase())
          throw new SourceError(`sha256 mismatch for ${file}: expected ${source.sha256.toLowerCase()}, got ${sha256}; nothing was extracted`);
      }
      try {
        await extractArchive(file, staging, { format, stripComponents: source.strip_components, maxBytes: source.max_size });
      } finally {
        if (isUrl) await fsp.rm(file, { force: true });
      }
      const install = await installTree(staging, input.releaseDir, { ...opts, move: true, trustMtime: false, exclude: excludeMatcher(exclude) });
      prepared = { source: isUrl ? displayUrl(where) : file, sourceType: 'archive', gitCommit: null, gitBranch: null, checksum: `sha256:${sha256}`, install };
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
    }
  } else {
    const { extractArchive } = await import('./sources/archive.js');
    const { exportGitTree } = await import('./sources/git.js');
    const url = source.url!;
    const staging = await fsp.mkdtemp(join(input.tmpDir, 'git-'));
    const tar = `${staging}.tar`;
    try {
      const localUrl = /^[a-z+]+:\/\//i.test(url) || /^[^/]+@[^:]+:/.test(url) ? url : resolve(input.manifestDir, url);
      const co = await exportGitTree(localUrl, source.branch ?? source.ref, input.gitCacheDir, tar);
      await extractArchive(tar, staging, { format: 'tar', maxBytes: source.max_size });
      const install = await installTree(staging, input.releaseDir, { ...opts, move: true, trustMtime: false, exclude: excludeMatcher(['/.git', ...exclude]) });
      prepared = { source: displayUrl(url), sourceType: 'git', gitCommit: co.commit, gitBranch: co.branch, checksum: `git:${co.commit}`, install };
      gitDescribe = co.describe;
    } finally {
      await fsp.rm(staging, { recursive: true, force: true });
      await fsp.rm(tar, { force: true });
    }
  }
  if (input.sharedDirs.length || input.sharedFiles.length) {
    const r = await linkShared(input.releaseDir, input.sharedRoot, input.sharedDirs, input.sharedFiles);
    for (const w of r.warnings) input.onWarning?.(w);
  }
  return { ...prepared, detectedVersion: gitDescribe ?? (await packageVersion(input.releaseDir)) };
}

async function packageVersion(releaseDir: string): Promise<string | null> {
  try {
    const pkg = JSON.parse(await fsp.readFile(join(releaseDir, 'package.json'), 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : null;
  } catch {
    return null;
  }
}
