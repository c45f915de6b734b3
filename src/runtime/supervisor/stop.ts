import type { Clock } from '../../util/clock.js';
import { instanceGone, signalGroup } from './process-group.js';

const POLL_MS = 25;
/** after SIGKILL a process is gone in milliseconds, unless stuck in the kernel */
const KILL_WAIT_MS = 5000;

async function waitGone(pid: number, start: string | undefined, timeoutMs: number, clock: Clock): Promise<boolean> {
  const deadline = clock.monotonic() + timeoutMs;
  for (;;) {
    if (instanceGone(pid, start)) return true;
    const left = deadline - clock.monotonic();
    if (left <= 0) return false;
    await clock.sleep(Math.min(POLL_MS, left));
  }
}

/**
 * Stops an instance's process group: SIGTERM to the group, up to `timeoutMs` for all of it to
 * be gone, then SIGKILL to the group. Resolves with whether SIGKILL was needed.
 */
export async function stopGroup(pid: number, start: string | undefined, timeoutMs: number, clock: Clock): Promise<{ killed: boolean }> {
  if (instanceGone(pid, start)) return { killed: false };
  signalGroup(pid, 'SIGTERM');
  if (await waitGone(pid, start, timeoutMs, clock)) return { killed: false };
  signalGroup(pid, 'SIGKILL');
  if (await waitGone(pid, start, KILL_WAIT_MS, clock)) return { killed: true };
  throw new Error(`process group ${pid} is still alive ${KILL_WAIT_MS} ms after SIGKILL`);
}
