import type { ChildProcess } from 'node:child_process';
import { errorMessage } from '../../errors.js';
import { localProcessAlive, procStartTime } from '../../hosts/local.js';
import { systemClock, type Clock } from '../../util/clock.js';
import type { InstanceSpec, InstanceStatus, ProcessRecord } from '../model.js';
import { Backoff, defaultBackoff, type BackoffOptions } from './backoff.js';
import { InstanceStartError } from './errors.js';
import type { LastExit, Stability, SupervisorEvent } from './events.js';
import { describeExit, isActive, key, newEntry, toStatus, type Entry } from './instance.js';
import { defaultLogOptions, readTail, rotateIfLarge, type LogOptions } from './log-file.js';
import { groupAlive, signalGroup } from './process-group.js';
import { preflight, spawned, spawnInstance } from './spawn.js';
import { stopGroup } from './stop.js';
import { unrefTimers, type Timers } from './timers.js';

export interface SupervisorOptions {
  clock?: Clock;
  /** background timers (restarts, adoption watches, rotation checks); unref'd real ones by default */
  timers?: Timers;
  onEvent?: (event: SupervisorEvent) => void;
  backoff?: Partial<BackoffOptions>;
  log?: Partial<LogOptions>;
  /** how often an adopted process (not our child, so no exit event) is checked; default 250 ms */
  adoptPollMs?: number;
}

/**
 * Runs app instances as process groups of the daemon (`service.manager: process`): starts them,
 * restarts them after a crash with a backoff, stops them gracefully, rotates their logs, and
 * finds them again after the daemon itself restarted.
 */
export class Supervisor {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly backoff: BackoffOptions;
  private readonly log: LogOptions;
  private readonly adoptPollMs: number;
  private readonly entries = new Map<string, Entry>();
  private rotationTimer: unknown = null;
  private rotating = false;
  private detached = false;

  constructor(private readonly o: SupervisorOptions = {}) {
    this.clock = o.clock ?? systemClock;
    this.timers = o.timers ?? unrefTimers;
    this.backoff = { ...defaultBackoff, ...o.backoff };
    this.log = { ...defaultLogOptions, ...o.log };
    this.adoptPollMs = o.adoptPollMs ?? 250;
  }

  /** Starts an instance; refuses when it already runs, its port is taken or its directory is missing. */
  async start(spec: InstanceSpec): Promise<InstanceStatus> {
    this.assertAttached();
    const k = key(spec.app, spec.id);
    const existing = this.entries.get(k);
    if (existing && isActive(existing)) {
      throw new InstanceStartError(spec, 'already-running', `already ${existing.state}${existing.pid ? ` (pid ${existing.pid})` : ''}; stop it first`);
    }
    const entry = newEntry(spec, new Backoff(this.backoff));
    this.entries.set(k, entry);
    this.armRotation();
    return this.serial(entry, async () => {
      try {
        await this.spawnInto(entry);
      } catch (e) {
        entry.state = 'failed';
        entry.wanted = false;
        entry.lastError = errorMessage(e);
        throw e;
      }
      return toStatus(entry);
    });
  }

  /**
   * Takes over a process an earlier daemon started, if `record` still names it (same pid, same
   * start time): no second copy is spawned. 'gone': it is not running; start() it.
   */
  adopt(spec: InstanceSpec, record: ProcessRecord): 'adopted' | 'gone' {
    this.assertAttached();
    const k = key(spec.app, spec.id);
    const existing = this.entries.get(k);
    if (existing && isActive(existing)) {
      throw new InstanceStartError(spec, 'already-running', `already ${existing.state}${existing.pid ? ` (pid ${existing.pid})` : ''}; cannot adopt pid ${record.pid}`);
    }
    if (!localProcessAlive(record)) return 'gone';
    const entry = newEntry(spec, new Backoff(this.backoff));
    entry.pid = record.pid;
    entry.start = record.start ?? procStartTime(record.pid);
    entry.state = 'running';
    entry.startedAt = this.clock.now().getTime();
    entry.startedMono = this.clock.monotonic();
    this.entries.set(k, entry);
    this.watch(entry, record.pid);
    this.armRotation();
    this.emit({ type: 'adopted', app: spec.app, id: spec.id, pid: record.pid });
    return 'adopted';
  }

  /**
   * SIGTERM to the instance's process group, SIGKILL after spec.stopTimeoutMs; resolves when it
   * is gone. Cancels a pending restart. An unknown or stopped instance resolves at once.
   */
  stop(app: string, id: string): Promise<void> {
    const entry = this.entries.get(key(app, id));
    if (!entry || !isActive(entry)) return Promise.resolve();
    entry.wanted = false;
    this.clearTimer(entry);
    entry.state = 'stopping';
    return this.serial(entry, async () => {
      if (entry.state === 'stopped') return;
      const pid = entry.pid;
      let killed = false;
      if (pid !== null) {
        try {
          ({ killed } = await stopGroup(pid, entry.start, entry.spec.stopTimeoutMs, this.clock));
        } catch (e) {
          entry.state = 'failed';
          throw new Error(`instance ${id}: ${errorMessage(e)}`, { cause: e });
        }
        if (entry.pid === pid) this.forgetRun(entry, { code: null, signal: null, at: this.clock.now().getTime() });
      }
      entry.state = 'stopped';
      entry.lastError = null;
      this.emit({ type: 'stopped', app, id, pid, killed });
    });
  }

  /** Stops every instance, all at once. */
  async stopAll(): Promise<void> {
    const all = [...this.entries.values()].map((e) => this.stop(e.spec.app, e.spec.id));
    const results = await Promise.allSettled(all);
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length) throw new AggregateError(failed.map((r) => r.reason as unknown), failed.map((r) => errorMessage(r.reason)).join('; '));
  }

  /**
   * Waits until the instance's current run has lasted `ms` (counted from its start), or ends
   * earlier with what happened: "instance blue-0 exited right after starting (code 1): …".
   */
  async waitStable(app: string, id: string, ms: number): Promise<Stability> {
    const entry = this.entries.get(key(app, id));
    if (!entry) throw new Error(`instance ${id} of ${app} is not known to the supervisor`);
    await entry.queue;
    const pid = entry.pid;
    if (entry.state === 'running' && pid !== null) {
      const left = ms - (this.clock.monotonic() - entry.startedMono);
      if (left <= 0) return { stable: true, pid };
      let onExit: (exit: LastExit) => void = () => {};
      const exited = new Promise<LastExit>((resolve) => (onExit = resolve));
      entry.exitWaiters.add(onExit);
      const ac = new AbortController();
      const exit = await Promise.race([this.clock.sleep(left, ac.signal).then(() => null), exited]);
      ac.abort();
      entry.exitWaiters.delete(onExit);
      if (!exit) return { stable: true, pid };
      return this.unstable(entry, exit, `exited right after starting (${describeExit(exit)})`);
    }
    if (entry.state === 'backoff' && entry.lastExit) return this.unstable(entry, entry.lastExit, `exited right after starting (${describeExit(entry.lastExit)})`);
    const why = entry.lastError ? `is not running: ${entry.lastError}` : `is ${entry.state}`;
    return this.unstable(entry, entry.lastExit, why);
  }

  /** The last `lines` lines of the instance's log ('' when it has none yet). */
  logTail(app: string, id: string, lines = 20): string {
    const entry = this.entries.get(key(app, id));
    return entry ? readTail(entry.spec.logFile, lines) : '';
  }

  /** pid and start time of every running instance, keyed `app/id`: what the daemon persists to adopt them later. */
  records(): Record<string, ProcessRecord> {
    const out: Record<string, ProcessRecord> = {};
    for (const [k, e] of this.entries) {
      if (e.pid !== null) out[k] = e.start === undefined ? { pid: e.pid } : { pid: e.pid, start: e.start };
    }
    return out;
  }

  status(app?: string): InstanceStatus[] {
    return [...this.entries.values()].filter((e) => app === undefined || e.spec.app === app).map(toStatus);
  }

  get(app: string, id: string): InstanceStatus | undefined {
    const e = this.entries.get(key(app, id));
    return e && toStatus(e);
  }

  /**
   * Forgets every instance without touching it and cancels all timers: the daemon is going away
   * and the processes stay (the next daemon adopts them from records()). The supervisor cannot be
   * used afterwards.
   */
  detach(): void {
    this.detached = true;
    if (this.rotationTimer !== null) this.timers.clearTimeout(this.rotationTimer);
    this.rotationTimer = null;
    for (const e of this.entries.values()) {
      this.clearTimer(e);
      if (e.child) {
        e.child.removeAllListeners('exit');
        e.child.unref();
      }
    }
    this.entries.clear();
  }

  /** Rotates every instance log larger than log.maxBytes (runs every log.checkIntervalMs on its own). */
  async rotateLogs(): Promise<void> {
    if (this.rotating) return;
    this.rotating = true;
    try {
      const byFile = new Map([...this.entries.values()].map((e) => [e.spec.logFile, e.spec] as const));
      for (const [file, spec] of byFile) {
        try {
          if (await rotateIfLarge(file, this.log.maxBytes, this.log.keep)) this.emit({ type: 'log-rotated', app: spec.app, id: spec.id, file });
        } catch (e) {
          this.emit({ type: 'log-error', app: spec.app, id: spec.id, file, message: errorMessage(e) });
        }
      }
    } finally {
      this.rotating = false;
    }
  }

  // ---- the life of a run ----

  /** Checks, spawns and records a new run; emits 'started'. */
  private async spawnInto(entry: Entry, isRestart = false): Promise<void> {
    const { spec } = entry;
    await preflight(spec);
    if (this.detached || !entry.wanted) return;
    const child = spawnInstance(spec);
    // an error after the spawn (a failed kill) must not crash the daemon; the spawn error is handled in spawned()
    child.on('error', () => {});
    child.once('exit', (code, signal) => this.onChildExit(entry, child, code, signal));
    entry.child = child;
    entry.pid = child.pid ?? null;
    let pid: number;
    try {
      pid = await spawned(spec, child);
    } catch (e) {
      entry.child = null;
      entry.pid = null;
      throw e;
    }
    entry.start = procStartTime(pid);
    entry.state = 'running';
    entry.lastError = null;
    entry.startedAt = this.clock.now().getTime();
    entry.startedMono = this.clock.monotonic();
    if (isRestart) entry.restarts++;
    this.emit({ type: 'started', app: spec.app, id: spec.id, pid, restarts: entry.restarts });
  }

  private onChildExit(entry: Entry, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.detached || entry.child !== child) return;
    this.onExit(entry, code, signal);
  }

  /** Polls an adopted process (not our child: no exit event) until it dies. */
  private watch(entry: Entry, pid: number): void {
    entry.timer = this.timers.setTimeout(() => {
      entry.timer = null;
      if (this.detached || entry.pid !== pid || entry.child) return;
      if (localProcessAlive(entry.start === undefined ? { pid } : { pid, start: entry.start })) this.watch(entry, pid);
      else this.onExit(entry, null, null);
    }, this.adoptPollMs);
  }

  private forgetRun(entry: Entry, exit: LastExit): void {
    entry.lastExit = exit;
    entry.pid = null;
    entry.start = undefined;
    entry.child = null;
    for (const w of entry.exitWaiters) w(exit);
    entry.exitWaiters.clear();
  }

  /** The run ended. Unless stop() asked for it, it is a crash: leftovers are killed and a restart scheduled. */
  private onExit(entry: Entry, code: number | null, signal: string | null): void {
    const pid = entry.pid!;
    const ranMs = this.clock.monotonic() - entry.startedMono;
    this.clearTimer(entry);
    this.forgetRun(entry, { code, signal, at: this.clock.now().getTime() });
    if (!entry.wanted) return; // stop() is waiting for the group and finishes the job
    // what the leader started may still hold the port: the instance is its whole group
    if (groupAlive(pid)) signalGroup(pid, 'SIGKILL');
    const restartInMs = entry.backoff.next(ranMs);
    entry.state = 'backoff';
    this.emit({ type: 'exited', app: entry.spec.app, id: entry.spec.id, pid, code, signal, ranMs: Math.round(ranMs), restartInMs });
    this.scheduleRestart(entry, restartInMs);
  }

  private scheduleRestart(entry: Entry, ms: number): void {
    entry.timer = this.timers.setTimeout(() => {
      entry.timer = null;
      void this.serial(entry, () => this.restart(entry));
    }, ms);
  }

  private async restart(entry: Entry): Promise<void> {
    if (this.detached || !entry.wanted) return;
    try {
      await this.spawnInto(entry, true);
    } catch (e) {
      if (this.detached || !entry.wanted) return;
      const restartInMs = entry.backoff.next(0);
      entry.lastError = errorMessage(e);
      const reason = e instanceof InstanceStartError ? e.reason : 'spawn';
      this.emit({ type: 'restart-failed', app: entry.spec.app, id: entry.spec.id, reason, message: entry.lastError, restartInMs });
      this.scheduleRestart(entry, restartInMs);
    }
  }

  // ---- plumbing ----

  private unstable(entry: Entry, exit: LastExit | null, what: string): Stability {
    const logTail = readTail(entry.spec.logFile, 20);
    return { stable: false, exit, logTail, message: `instance ${entry.spec.id} ${what}${logTail ? `:\n${logTail}` : ''}` };
  }

  private serial<T>(entry: Entry, fn: () => Promise<T>): Promise<T> {
    const run = entry.queue.then(fn);
    entry.queue = run.catch(() => undefined);
    return run;
  }

  private clearTimer(entry: Entry): void {
    if (entry.timer !== null) this.timers.clearTimeout(entry.timer);
    entry.timer = null;
  }

  private armRotation(): void {
    if (this.rotationTimer !== null || this.detached) return;
    this.rotationTimer = this.timers.setTimeout(() => {
      void this.rotateLogs().finally(() => {
        this.rotationTimer = null;
        this.armRotation();
      });
    }, this.log.checkIntervalMs);
  }

  private emit(event: SupervisorEvent): void {
    try {
      this.o.onEvent?.(event);
    } catch (e) {
      process.emitWarning(`supervisor: the event handler threw on ${event.type}: ${errorMessage(e)}`);
    }
  }

  private assertAttached(): void {
    if (this.detached) throw new Error('this supervisor was detached; use a new one');
  }
}
