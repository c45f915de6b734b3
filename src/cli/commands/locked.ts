import type { Transport } from '../../hosts/transport.js';
import type { AppLayout } from '../../release/layout.js';
import { DeployLock } from '../../state/lock.js';
import { systemClock } from '../../util/clock.js';
import { newDeployId } from '../context.js';

/** Runs `fn` holding the app's deploy lock (for verbs that change releases outside a deploy). */
export async function withLock<T>(t: Transport, layout: AppLayout, command: string, fn: () => Promise<T>, onWarning?: (m: string) => void): Promise<T> {
  await t.fs.mkdirp(layout.state, { private: true });
  const lock = await DeployLock.acquire(t, layout.lock, { deployId: newDeployId(), command, clock: systemClock, ...(onWarning ? { onWarning } : {}) });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
