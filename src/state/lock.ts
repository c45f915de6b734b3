import { LockHeldError, type LockOwner } from '../errors.js';
import type { Transport } from '../hosts/transport.js';
import type { Clock } from '../util/clock.js';

export interface LockRecord extends LockOwner {
  /** start time of the owner process, to tell a reused pid apart */
  pid_start?: string;
  /** boot id of the owner's host when it took the lock: after a reboot every pid is another process */
  boot_id?: string;
}

export type LockState =
  | { state: 'free' }
  | { state: 'held'; owner: LockRecord }
  | { state: 'stale'; owner: LockRecord | null; reason: string };

export async function readLock(t: Transport, path: string): Promise<LockRecord | null | 'corrupt'> {
  const text = await t.fs.readText(path);
  if (text === null) return null;
  try {
    const rec = JSON.parse(text) as LockRecord;
    if (typeof rec.pid !== 'number' || typeof rec.host !== 'string') return 'corrupt';
    return rec;
  } catch {
    return 'corrupt';
  }
}

/**
 * A lock is stale when its owner ran on this host and that process is gone: its pid is dead, or
 * now names another process (another start time), or the host has rebooted since (another boot
 * id). An old lock without start time or boot id is judged by its pid alone.
 */
export async function inspectLock(t: Transport, path: string): Promise<LockState> {
  const rec = await readLock(t, path);
  if (rec === null) return { state: 'free' };
  if (rec === 'corrupt') return { state: 'stale', owner: null, reason: 'the lock file is not a valid lock record' };
  if (rec.host === (await t.hostname())) {
    const boot = (await t.selfIdentity()).boot;
    if (rec.boot_id && boot && rec.boot_id !== boot) return { state: 'stale', owner: rec, reason: `it was taken during another boot of ${rec.host}` };
    const alive = await t.processAlive(rec.pid_start ? { pid: rec.pid, start: rec.pid_start } : { pid: rec.pid });
    if (!alive) return { state: 'stale', owner: rec, reason: `its process ${rec.pid} on ${rec.host} is gone` };
  }
  return { state: 'held', owner: rec };
}

export interface AcquireOptions {
  deployId: string;
  command: string;
  clock: Clock;
  onWarning?: (message: string) => void;
}

/** The deploy lock of one app on one host: a JSON owner record created atomically. */
export class DeployLock {
  private timer: NodeJS.Timeout | undefined;
  private constructor(
    private readonly t: Transport,
    readonly path: string,
    private record: LockRecord,
    private readonly clock: Clock,
  ) {}

  /** The stale lock that was taken over, if any. */
  takenOver: LockRecord | null = null;

  static async acquire(t: Transport, path: string, opts: AcquireOptions): Promise<DeployLock> {
    const self = await t.selfIdentity();
    const now = opts.clock.now().toISOString();
    const record: LockRecord = {
      deploy_id: opts.deployId,
      pid: self.pid,
      ...(self.start ? { pid_start: self.start } : {}),
      ...(self.boot ? { boot_id: self.boot } : {}),
      host: await t.hostname(),
      user: await t.user(),
      started: now,
      heartbeat: now,
      command: opts.command,
    };
    const data = `${JSON.stringify(record, null, 2)}\n`;
    let takenOver: LockRecord | null = null;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await t.fs.createExclusive(path, data)) {
        const lock = new DeployLock(t, path, record, opts.clock);
        lock.takenOver = takenOver;
        return lock;
      }
      const st = await inspectLock(t, path);
      if (st.state === 'held') throw new LockHeldError(path, st.owner);
      if (st.state === 'free') continue;
      // stale: only one process may remove it, under a short-lived takeover lock of its own
      const owner = st.owner;
      if (!(await takeover(t, path, owner, data))) continue;
      opts.onWarning?.(`took over a stale deploy lock: ${st.reason}${owner ? ` (${owner.command ?? 'deploy'} ${owner.deploy_id} by ${owner.user}, started ${owner.started})` : ''}`);
      takenOver = owner ?? { deploy_id: 'unknown', pid: 0, host: '?', user: '?', started: '?', heartbeat: '?' };
    }
    const st = await inspectLock(t, path);
    if (st.state === 'held') throw new LockHeldError(path, st.owner);
    throw new Error(`could not take the deploy lock ${path}`);
  }

  /** The heartbeat writes, one after another (release waits for them). */
  private beating: Promise<void> = Promise.resolve();

  /** Keeps `heartbeat` fresh while the operation runs. */
  startHeartbeat(everyMs = 10_000): void {
    this.timer = setInterval(() => {
      this.beating = this.beating.then(() => this.beat()).catch(() => {});
    }, everyMs);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    // after `unlock --force` the lock is someone else's (or nobody's): never write it back
    const rec = await readLock(this.t, this.path);
    if (!rec || rec === 'corrupt' || rec.deploy_id !== this.record.deploy_id || rec.pid !== this.record.pid) {
      if (this.timer) clearInterval(this.timer);
      return;
    }
    this.record = { ...this.record, heartbeat: this.clock.now().toISOString() };
    await this.t.fs.writeAtomic(this.path, `${JSON.stringify(this.record, null, 2)}\n`);
  }

  /** Removes the lock if it is still ours. */
  async release(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    // a heartbeat write in flight would put the file back (or over the next owner's) after we remove it
    await this.beating;
    const rec = await readLock(this.t, this.path);
    if (rec && rec !== 'corrupt' && rec.deploy_id === this.record.deploy_id && rec.pid === this.record.pid) await this.t.fs.remove(this.path);
  }
}

async function takeover(t: Transport, path: string, seen: LockRecord | null, data: string): Promise<boolean> {
  const mutex = `${path}.takeover`;
  if (!(await t.fs.createExclusive(mutex, data))) {
    // a taker that died mid-takeover leaves the mutex behind: clear it when its owner is gone
    const st = await inspectLock(t, mutex);
    if (st.state === 'stale') await t.fs.remove(mutex);
    return false;
  }
  try {
    const again = await inspectLock(t, path);
    if (again.state !== 'stale') return false;
    if (JSON.stringify(again.owner) !== JSON.stringify(seen)) return false;
    await t.fs.remove(path);
    return true;
  } finally {
    await t.fs.remove(mutex);
  }
}
