import { createHash, randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type Server } from 'node:net';
import { localFs } from '../../hosts/local-fs.js';
import { bootId, localProcessAlive, procStartTime } from '../../hosts/local.js';
import type { ProcessIdentity } from '../../hosts/transport.js';

/**
 * One runtime daemon per runtime directory. A lock file alone cannot be taken over atomically:
 * two starters that both judge it stale both remove it and both win. So the mutex is a name the
 * kernel holds for the daemon's life and frees when it dies, whatever way: an abstract unix
 * socket (Linux; no file, nothing left behind) named after the directory's device and inode
 * and a key kept in it.
 * The lock file beside it only says who holds it (pid, start time, boot id), for people and for
 * a daemon of an older version, which holds the file but not the name.
 */
export async function holdName(dir: string): Promise<string> {
  const st = statSync(dir);
  // abstract names are visible to every user of the machine: a secret only this user can read
  // (in the 0700 runtime directory) keeps another user from taking the name first
  const keyFile = join(dir, 'daemon.key');
  await localFs.createExclusive(keyFile, `${randomBytes(16).toString('hex')}\n`);
  await chmod(keyFile, 0o600);
  const key = (await localFs.readText(keyFile))?.trim() ?? '';
  return `\0deployer-runtime-${createHash('sha256').update(`${st.dev}:${st.ino}:${key}`).digest('hex').slice(0, 32)}`;
}

function bindName(name: string): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const s = createServer((sock) => sock.destroy());
    s.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? resolve(null) : reject(e)));
    s.listen(name, () => resolve(s.unref()));
  });
}

async function ownerAlive(lockPath: string): Promise<boolean> {
  const text = await localFs.readText(lockPath);
  if (!text) return false;
  try {
    const owner = JSON.parse(text) as ProcessIdentity;
    return typeof owner.pid === 'number' && owner.pid !== process.pid && localProcessAlive(owner);
  } catch {
    return false;
  }
}

/**
 * Takes the daemon lock of `dir`, or returns null when another daemon holds it. A daemon that
 * is exiting still holds the name for a moment: a starter that finds no live owner in the lock
 * file waits for it (up to `waitMs`).
 */
export async function takeDaemonLock(dir: string, lockPath: string, waitMs = 3000): Promise<Server | null> {
  const name = await holdName(dir);
  const deadline = Date.now() + waitMs;
  for (;;) {
    const held = await bindName(name);
    if (held) {
      if (await ownerAlive(lockPath)) {
        held.close();
        return null;
      }
      const start = procStartTime(process.pid);
      const boot = bootId();
      await localFs.writeAtomic(lockPath, JSON.stringify({ pid: process.pid, ...(start ? { start } : {}), ...(boot ? { boot } : {}) }));
      return held;
    }
    if ((await ownerAlive(lockPath)) || Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
}
