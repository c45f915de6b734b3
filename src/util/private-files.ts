// Deployer's own files hold what a deploy did and, in places, what it ran with: $DEPLOYER_HOME,
// each app's .deploy_state/ and the runtime's directory are the owner's alone (0700), and the
// state files and logs in them are created 0600. A directory an older version made wider is
// tightened the next time Deployer writes in it (files in it are then out of reach of others).
import { chmodSync, mkdirSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

export const PRIVATE_DIR = 0o700;
export const PRIVATE_FILE = 0o600;

/** A directory we cannot chmod (another user's) is left as it is: the write that follows says what is wrong. */
function notOurs(e: unknown): void {
  if (!['EPERM', 'EACCES'].includes((e as NodeJS.ErrnoException).code ?? '')) throw e;
}

/**
 * Creates `dir` 0700 or tightens it to 0700. Missing parents get the usual mode: an app root
 * made on the way to its .deploy_state/ must stay readable to, say, the web server.
 */
export function privateDirSync(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  try {
    chmodSync(dir, PRIVATE_DIR);
  } catch (e) {
    notOurs(e);
  }
}

export async function privateDir(dir: string): Promise<void> {
  await mkdir(dirname(dir), { recursive: true });
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  await chmod(dir, PRIVATE_DIR).catch(notOurs);
}
