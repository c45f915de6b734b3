import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock, rejection, until } from '../checks/test-support.js';
import { LockHeldError } from '../errors.js';
import { LocalTransport, procStartTime } from '../hosts/local.js';
import { localFs } from '../hosts/local-fs.js';
import type { HostFs, ProcessIdentity, Transport } from '../hosts/transport.js';
import { DeployLock, inspectLock, type LockRecord } from './lock.js';

let dir: string;
let lockPath: string;
const t = new LocalTransport();
const clock = new FakeClock();
const opts = (deployId: string, extra: { onWarning?: (m: string) => void } = {}) => ({ deployId, command: 'deploy', clock, ...extra });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deployer-lock-'));
  lockPath = join(dir, 'deploy.lock');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

function record(over: Partial<LockRecord>): LockRecord {
  return { deploy_id: 'old-deploy', pid: 1, host: hostname(), user: 'someone', started: '2024-01-01T00:00:00.000Z', heartbeat: '2024-01-01T00:00:10.000Z', command: 'deploy', ...over };
}

const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const writeLock = (rec: LockRecord | string) => writeFileSync(lockPath, typeof rec === 'string' ? rec : JSON.stringify(rec));
const readLockFile = () => JSON.parse(readFileSync(lockPath, 'utf8')) as LockRecord;

describe('DeployLock.acquire', () => {
  it('creates a JSON owner record', async () => {
    const lock = await DeployLock.acquire(t, lockPath, opts('d-1'));
    const rec = readLockFile();
    expect(rec).toEqual({
      deploy_id: 'd-1',
      pid: process.pid,
      pid_start: procStartTime(process.pid),
      boot_id: bootId(),
      host: hostname(),
      user: userInfo().username,
      started: clock.now().toISOString(),
      heartbeat: clock.now().toISOString(),
      command: 'deploy',
    });
    expect(lock.takenOver).toBeNull();
    expect(lock.path).toBe(lockPath);
    await lock.release();
  });

  it('refuses a second acquire with LockHeldError naming the owner (exit 3)', async () => {
    const first = await DeployLock.acquire(t, lockPath, opts('d-1'));
    const err = await rejection(DeployLock.acquire(t, lockPath, { ...opts('d-2'), command: 'rollback' }), LockHeldError);
    expect(err.exitCode).toBe(3);
    expect(err.owner).toMatchObject({ deploy_id: 'd-1', pid: process.pid, host: hostname() });
    expect(err.message).toContain(`another deploy holds the lock ${lockPath}: deploy d-1 by ${userInfo().username}@${hostname()} (pid ${process.pid})`);
    expect(err.hint).toMatch(/deployer unlock/);
    // the first owner still holds it
    expect(readLockFile().deploy_id).toBe('d-1');
    await first.release();
  });

  it('takes over a lock whose process is gone, with a warning', async () => {
    const pid = await deadPid();
    writeLock(record({ pid }));
    const warnings: string[] = [];
    const lock = await DeployLock.acquire(t, lockPath, opts('d-new', { onWarning: (m) => warnings.push(m) }));
    expect(readLockFile()).toMatchObject({ deploy_id: 'd-new', pid: process.pid });
    expect(lock.takenOver).toMatchObject({ deploy_id: 'old-deploy', pid });
    expect(warnings).toEqual([
      `took over a stale deploy lock: its process ${pid} on ${hostname()} is gone (deploy old-deploy by someone, started 2024-01-01T00:00:00.000Z)`,
    ]);
    expect(existsSync(`${lockPath}.takeover`)).toBe(false);
    await lock.release();
  });

  it('takes over a lock whose pid now belongs to another process (start time differs)', async () => {
    writeLock(record({ pid: process.pid, pid_start: '1' }));
    const warnings: string[] = [];
    const lock = await DeployLock.acquire(t, lockPath, opts('d-new', { onWarning: (m) => warnings.push(m) }));
    expect(lock.takenOver).toMatchObject({ deploy_id: 'old-deploy' });
    expect(warnings).toHaveLength(1);
    await lock.release();
  });

  it('takes over a lock naming a live process of another program (its start time differs)', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      const start = procStartTime(sleeper.pid!)!;
      writeLock(record({ pid: sleeper.pid!, pid_start: String(Number(start) + 1), boot_id: bootId() }));
      const lock = await DeployLock.acquire(t, lockPath, opts('d-new'));
      expect(lock.takenOver).toMatchObject({ deploy_id: 'old-deploy', pid: sleeper.pid });
      await lock.release();
    } finally {
      sleeper.kill();
    }
  });

  it('takes over a lock written during another boot, even if its pid and start time match a live process', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      const rec = record({ pid: sleeper.pid!, pid_start: procStartTime(sleeper.pid!)!, boot_id: '00000000-0000-0000-0000-000000000000' });
      writeLock(rec);
      expect(await inspectLock(t, lockPath)).toEqual({ state: 'stale', owner: rec, reason: `it was taken during another boot of ${hostname()}` });
      const lock = await DeployLock.acquire(t, lockPath, opts('d-new'));
      expect(lock.takenOver).toMatchObject({ deploy_id: 'old-deploy' });
      await lock.release();
    } finally {
      sleeper.kill();
    }
  });

  it('respects a lock whose pid, start time and boot id all match a live process', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      writeLock(record({ pid: sleeper.pid!, pid_start: procStartTime(sleeper.pid!)!, boot_id: bootId() }));
      const err = await rejection(DeployLock.acquire(t, lockPath, opts('d-new')), LockHeldError);
      expect(err.exitCode).toBe(3);
      // an old lock file without start time and boot id: the pid alone decides, as before
      writeLock(record({ pid: sleeper.pid! }));
      expect((await inspectLock(t, lockPath)).state).toBe('held');
    } finally {
      sleeper.kill();
    }
  });

  it('never takes over a lock from another host, even if that pid is dead here', async () => {
    const pid = await deadPid();
    writeLock(record({ pid, host: 'some-other-host' }));
    const err = await rejection(DeployLock.acquire(t, lockPath, opts('d-new')), LockHeldError);
    expect(err.owner).toMatchObject({ host: 'some-other-host', pid });
    expect(err.message).toContain(`someone@some-other-host (pid ${pid})`);
    expect(readLockFile().deploy_id).toBe('old-deploy');
  });

  it('treats a corrupt lock file as stale', async () => {
    writeLock('{"deploy_id": "torn');
    expect(await inspectLock(t, lockPath)).toEqual({ state: 'stale', owner: null, reason: 'the lock file is not a valid lock record' });
    const warnings: string[] = [];
    const lock = await DeployLock.acquire(t, lockPath, opts('d-new', { onWarning: (m) => warnings.push(m) }));
    expect(warnings).toEqual(['took over a stale deploy lock: the lock file is not a valid lock record']);
    expect(lock.takenOver).toMatchObject({ deploy_id: 'unknown' });
    expect(readLockFile().deploy_id).toBe('d-new');
    await lock.release();
  });

  it('clears a takeover mutex left by a taker that died, then takes over', async () => {
    const pid = await deadPid();
    writeLock(record({ pid }));
    writeFileSync(`${lockPath}.takeover`, JSON.stringify(record({ pid, deploy_id: 'dead-taker' })));
    const lock = await DeployLock.acquire(t, lockPath, opts('d-new'));
    expect(readLockFile().deploy_id).toBe('d-new');
    expect(existsSync(`${lockPath}.takeover`)).toBe(false);
    await lock.release();
  });

  it('lets exactly one of many concurrent acquires win', async () => {
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => DeployLock.acquire(t, lockPath, opts(`race-${i}`))));
    const won = results.filter((r): r is PromiseFulfilledResult<DeployLock> => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(7);
    for (const l of lost) expect(l.reason).toBeInstanceOf(LockHeldError);
    const winner = readLockFile().deploy_id;
    for (const l of lost) expect((l.reason as LockHeldError).owner.deploy_id).toBe(winner);
    await won[0]!.value.release();
    expect(existsSync(lockPath)).toBe(false);
  });
});

describe('DeployLock.release', () => {
  it('removes our own lock', async () => {
    const lock = await DeployLock.acquire(t, lockPath, opts('d-1'));
    await lock.release();
    expect(existsSync(lockPath)).toBe(false);
    expect(await inspectLock(t, lockPath)).toEqual({ state: 'free' });
    // releasing twice is harmless
    await lock.release();
  });

  it('leaves a lock that is no longer ours', async () => {
    const lock = await DeployLock.acquire(t, lockPath, opts('d-1'));
    writeLock(record({ deploy_id: 'someone-else', pid: process.pid }));
    await lock.release();
    expect(readLockFile().deploy_id).toBe('someone-else');
  });
});

describe('heartbeat', () => {
  it('rewrites the heartbeat with the current time, keeping the rest', async () => {
    const lock = await DeployLock.acquire(t, lockPath, opts('d-1'));
    const before = readLockFile();
    clock.advance(60_000);
    const expected = clock.now().toISOString();
    lock.startHeartbeat(10);
    expect(await until(() => readLockFile().heartbeat === expected, 5000)).toBe(true);
    expect(readLockFile()).toEqual({ ...before, heartbeat: expected });
    await lock.release();
    expect(existsSync(lockPath)).toBe(false);
  });
});

describe('heartbeat after the lock was taken away (unlock --force)', () => {
  it('never writes the lock back, nor over the next owner\'s', async () => {
    const lock = await DeployLock.acquire(t, lockPath, opts('d-1'));
    rmSync(lockPath);
    writeLock(record({ deploy_id: 'next-owner', pid: process.pid }));
    const theirs = readFileSync(lockPath, 'utf8');
    clock.advance(60_000);
    lock.startHeartbeat(5);
    // several heartbeat periods pass: the file stays the next owner's, byte for byte
    const deadline = Date.now() + 200;
    while (Date.now() < deadline) {
      expect(readFileSync(lockPath, 'utf8')).toBe(theirs);
      await new Promise((r) => setTimeout(r, 10));
    }
    await lock.release();
    expect(readLockFile().deploy_id).toBe('next-owner');
  });
});

/** A LocalTransport whose atomic writes wait until the test opens the gate. */
class GatedTransport implements Transport {
  readonly name = 'local';
  private readonly inner = new LocalTransport();
  private openGate!: () => void;
  private readonly gate = new Promise<void>((r) => (this.openGate = r));
  private markStarted!: () => void;
  /** resolves when the first write is waiting at the gate */
  readonly started = new Promise<void>((r) => (this.markStarted = r));
  readonly writes: Promise<void>[] = [];
  readonly fs: HostFs = {
    ...localFs,
    writeAtomic: (path, data) => {
      const w = (async () => {
        this.markStarted();
        await this.gate;
        await localFs.writeAtomic(path, data);
      })();
      this.writes.push(w);
      return w;
    },
  };
  open(): void {
    this.openGate();
  }
  hostname = () => this.inner.hostname();
  user = () => this.inner.user();
  exec: Transport['exec'] = (argv, o) => this.inner.exec(argv, o);
  processAlive = (id: ProcessIdentity) => this.inner.processAlive(id);
  selfIdentity = () => this.inner.selfIdentity();
}

describe('release during a heartbeat write', () => {
  it('waits for the write, so the lock file does not come back after it was removed', async () => {
    const gated = new GatedTransport();
    const lock = await DeployLock.acquire(gated, lockPath, opts('d-1'));
    lock.startHeartbeat(1);
    await gated.started; // a heartbeat write is in flight, held at the gate
    const released = lock.release();
    gated.open();
    await released;
    await Promise.all(gated.writes);
    expect(existsSync(lockPath)).toBe(false);
  });
});

