import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bringUpTestHosts } from './support/ssh-hosts.js';

/**
 * Integration tests run the built CLI as a real process: build it once before the suite. As root
 * (as in CI), also bring the suite's SSH hosts up once (test/hosts/hosts.mjs, see
 * test/support/ssh-hosts.ts) and take them down at the end. Not as root, they stay down and the
 * tests that need them fail with testHosts()'s error: they must not pass silently.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
  if (process.getuid?.() !== 0) {
    console.error('[global-setup] not root: the test SSH hosts are not brought up');
    return undefined;
  }
  return bringUpTestHosts();
}
