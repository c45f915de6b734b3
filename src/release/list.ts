import { join } from 'node:path';
import type { Transport } from '../hosts/transport.js';
import { compareReleaseIds, isReleaseId } from './id.js';
import type { AppLayout } from './layout.js';
import { readMeta, type ReleaseMeta } from './meta.js';

export const PROTECTED_FILE = '.protected';

export interface ReleaseInfo {
  id: string;
  dir: string;
  /** has .release_meta: a release that finished preparing */
  complete: boolean;
  protected: boolean;
  /** kept after a failure as releases/<id>.failed */
  failed: boolean;
  meta: ReleaseMeta | null;
}

/** Every release directory, oldest first (failed ones too). */
export async function listReleases(t: Transport, layout: AppLayout): Promise<ReleaseInfo[]> {
  const out: ReleaseInfo[] = [];
  for (const name of await t.fs.list(layout.releases)) {
    const failed = name.endsWith('.failed');
    const id = failed ? name.slice(0, -'.failed'.length) : name;
    if (!isReleaseId(id)) continue;
    const dir = join(layout.releases, name);
    if ((await t.fs.stat(dir))?.type !== 'dir') continue;
    const meta = await readMeta(t.fs, dir);
    const prot = (await t.fs.stat(join(dir, PROTECTED_FILE))) !== null;
    out.push({ id, dir, complete: meta !== null, protected: prot, failed, meta });
  }
  return out.sort((a, b) => compareReleaseIds(a.id, b.id) || Number(a.failed) - Number(b.failed));
}

export interface CleanupPlan {
  remove: ReleaseInfo[];
  keep: { release: ReleaseInfo; why: string }[];
}

/**
 * Which releases cleanup removes: everything but the newest `keep` complete releases, the
 * pinned ones (live, rollback point, roll-forward point, in progress) and protected ones.
 * Failed releases are kept up to `keep` as well; incomplete leftovers of a crash go.
 */
export function planCleanup(releases: ReleaseInfo[], keep: number, pinned: Map<string, string>): CleanupPlan {
  const plan: CleanupPlan = { remove: [], keep: [] };
  const complete = releases.filter((r) => !r.failed && r.complete);
  const newest = new Set(complete.slice(-keep).map((r) => r.id));
  const failed = releases.filter((r) => r.failed);
  const newestFailed = new Set(failed.slice(-keep).map((r) => r.dir));
  for (const r of releases) {
    const pin = r.failed ? undefined : pinned.get(r.id);
    if (pin) plan.keep.push({ release: r, why: pin });
    else if (r.protected) plan.keep.push({ release: r, why: 'protected' });
    else if (r.failed && newestFailed.has(r.dir)) plan.keep.push({ release: r, why: `one of the newest ${keep} failed` });
    else if (r.failed) plan.remove.push(r);
    else if (!r.complete) plan.remove.push(r);
    else if (newest.has(r.id)) plan.keep.push({ release: r, why: `one of the newest ${keep}` });
    else plan.remove.push(r);
  }
  return plan;
}
