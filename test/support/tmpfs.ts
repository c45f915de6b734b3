// A small tmpfs of a test's own, to fill up: mounted as root; in CI a test that cannot mount it
// fails, elsewhere (not root) it is skipped with a loud reason.
import { execFileSync } from 'node:child_process';
import { statfsSync, writeFileSync } from 'node:fs';

export const canMountTmpfs = process.getuid?.() === 0 || Boolean(process.env.CI);

/** Call at the top of the test file: says loudly that its tests are skipped, when they are. */
export function warnIfNoTmpfs(what: string): void {
  if (!canMountTmpfs) console.warn(`[${what}] SKIPPED: mounting a tmpfs needs root (and CI is unset); these tests did not run`);
}

export function mountTmpfs(dir: string, kib: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${kib}k`, 'tmpfs', dir]);
}

/** By path: only the file system this test mounted. */
export function unmountTmpfs(dir: string): void {
  execFileSync('umount', [dir]);
}

/** Fills the file system of `dir` with `file`, leaving about `leave` bytes. */
export function fillDisk(dir: string, file: string, leave = 0): void {
  const st = statfsSync(dir);
  writeFileSync(file, Buffer.alloc(Math.max(0, st.bavail * st.bsize - leave)));
}
