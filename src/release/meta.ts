import { join } from 'node:path';
import type { HostFs } from '../hosts/transport.js';

export const META_FILE = '.release_meta';

/** `.release_meta` (DESIGN §3): written last, so a release without it is incomplete. */
export interface ReleaseMeta {
  release_id: string;
  timestamp: string;
  source: string;
  source_type: 'local' | 'archive' | 'git';
  version: string;
  deployed_by: string;
  hostname: string;
  git_commit: string | null;
  git_branch: string | null;
  /** `sha256:` of the archive, `git:` the commit, or `tree:` a sha256 fingerprint of a directory's
   *  file list (paths, types, modes, sizes, link targets; not the contents) */
  checksum: string;
  deploy_id: string;
  files: number;
  bytes: number;
}

export async function readMeta(fs: HostFs, releaseDir: string): Promise<ReleaseMeta | null> {
  const text = await fs.readText(join(releaseDir, META_FILE));
  if (text === null) return null;
  try {
    return JSON.parse(text) as ReleaseMeta;
  } catch {
    return null;
  }
}

export async function writeMeta(fs: HostFs, releaseDir: string, meta: ReleaseMeta): Promise<void> {
  await fs.writeAtomic(join(releaseDir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
}
