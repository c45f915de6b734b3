import { promises as fsp } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export interface SharedResult {
  linked: string[];
  /** shared paths that did not exist yet and were seeded from the release */
  seeded: string[];
  warnings: string[];
}

/**
 * Replaces each shared dir/file in the release by a relative symlink into shared/ (seed 000
 * §4.1). A shared path missing from shared/ is seeded from the release's copy when it has one;
 * a shared dir is created empty otherwise; a shared file that exists nowhere is not linked.
 */
export async function linkShared(releaseDir: string, sharedRoot: string, dirs: readonly string[], files: readonly string[]): Promise<SharedResult> {
  const result: SharedResult = { linked: [], seeded: [], warnings: [] };
  for (const [rel, isDir] of [...dirs.map((d) => [d, true] as const), ...files.map((f) => [f, false] as const)]) {
    const clean = rel.replace(/\/+$/, '');
    const target = join(sharedRoot, clean);
    const link = join(releaseDir, clean);
    const inRelease = await fsp.lstat(link).catch(() => null);
    let inShared = await fsp.lstat(target).catch(() => null);
    if (!inShared && inRelease && !inRelease.isSymbolicLink() && (isDir ? inRelease.isDirectory() : inRelease.isFile())) {
      await fsp.mkdir(dirname(target), { recursive: true });
      await fsp.cp(link, target, { recursive: true, preserveTimestamps: true });
      result.seeded.push(clean);
      inShared = await fsp.lstat(target);
    }
    if (!inShared) {
      if (!isDir) {
        result.warnings.push(`shared file ${clean} does not exist in ${sharedRoot}; not linked`);
        continue;
      }
      await fsp.mkdir(target, { recursive: true });
    }
    if (inRelease) await fsp.rm(link, { recursive: true, force: true });
    await fsp.mkdir(dirname(link), { recursive: true });
    await fsp.symlink(relative(dirname(link), target), link);
    result.linked.push(clean);
  }
  return result;
}
