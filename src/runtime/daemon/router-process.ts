import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { PRIVATE_FILE } from '../../util/private-files.js';
import { dirname } from 'node:path';
import { localProcessAlive, procStartTime } from '../../hosts/local.js';
import type { ProcessRecord } from '../model.js';
import { callUnix, type CallOptions } from '../unix-json.js';

export interface RouterProcessOptions {
  /** the router's entry: dist/router.js */
  script: string;
  controlSocket: string;
  logFile: string;
  /** a router process left running by a previous daemon */
  record: ProcessRecord | null;
  /** after a (re)start: push every app's config into the router */
  onStarted: () => Promise<void>;
  onRecord: (r: ProcessRecord | null) => void;
  log: (msg: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs the router as its own process (own process group, so neither a killed daemon nor a
 * Ctrl-C in the daemon's terminal takes traffic down), adopts one a previous daemon left running,
 * and starts it again, with its config, when it dies.
 */
export class RouterProcess {
  private record: ProcessRecord | null;
  private watch: NodeJS.Timeout | undefined;
  private stopping = false;
  private restarts = 0;

  constructor(private readonly o: RouterProcessOptions) {
    this.record = o.record;
  }

  get pid(): number | null {
    return this.record?.pid ?? null;
  }

  call<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
    return callUnix<T>(this.o.controlSocket, method, path, body, { timeoutMs: 30_000, ...opts });
  }

  /** Adopts the recorded router if it is alive and answers, else starts one. */
  async ensure(): Promise<void> {
    if (this.record && localProcessAlive(this.record) && (await this.answers(2_000))) {
      this.o.log(`router: adopted pid ${this.record.pid}`);
      await this.o.onStarted();
      this.startWatch();
      return;
    }
    if (this.record && localProcessAlive(this.record)) {
      // alive but deaf: it cannot be driven, so replace it
      this.o.log(`router: pid ${this.record.pid} does not answer; replacing it`);
      await this.kill(this.record);
    }
    await this.spawn();
  }

  private async spawn(): Promise<void> {
    mkdirSync(dirname(this.o.logFile), { recursive: true });
    const fd = openSync(this.o.logFile, 'a', PRIVATE_FILE);
    try {
      const child = spawn(process.execPath, [this.o.script, '--control', this.o.controlSocket], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: process.env,
      });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      child.unref();
      const pid = child.pid!;
      const start = procStartTime(pid);
      this.record = { pid, ...(start ? { start } : {}) };
      this.o.onRecord(this.record);
    } finally {
      closeSync(fd);
    }
    if (!(await this.answers(10_000))) throw new Error(`the router process (pid ${this.record.pid}) did not open ${this.o.controlSocket}; see ${this.o.logFile}`);
    this.o.log(`router: started pid ${this.record.pid}`);
    await this.o.onStarted();
    this.startWatch();
  }

  private async answers(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    while (Date.now() < deadline) {
      try {
        await this.call('GET', '/state', undefined, { timeoutMs: 1_000 });
        return true;
      } catch {
        if (this.record && !localProcessAlive(this.record)) return false;
        await sleep(50);
      }
    }
    return false;
  }

  /** Polls: the router may not be our child (adopted), so there is no exit event to wait for. */
  private startWatch(): void {
    clearInterval(this.watch);
    this.watch = setInterval(() => {
      if (this.stopping || !this.record || localProcessAlive(this.record)) return;
      clearInterval(this.watch);
      this.o.log(`router: pid ${this.record.pid} is gone; starting it again`);
      this.record = null;
      this.o.onRecord(null);
      void this.respawn();
    }, 200);
    this.watch.unref();
  }

  private async respawn(): Promise<void> {
    while (!this.stopping) {
      try {
        await this.spawn();
        this.restarts++;
        return;
      } catch (e) {
        this.o.log(`router: restart failed: ${(e as Error).message}`);
        await sleep(Math.min(5_000, 250 * 2 ** Math.min(this.restarts++, 5)));
      }
    }
  }

  private async kill(r: ProcessRecord): Promise<void> {
    try {
      process.kill(r.pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 12_000;
    while (Date.now() < deadline && localProcessAlive(r)) await sleep(50);
    if (localProcessAlive(r)) {
      try {
        process.kill(r.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  /** Stops the router (it finishes in-flight requests first). */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.watch);
    if (this.record) await this.kill(this.record);
    this.record = null;
    this.o.onRecord(null);
  }

  /** Forgets the router without stopping it (the daemon is going away but traffic must not). */
  detach(): void {
    this.stopping = true;
    clearInterval(this.watch);
  }
}
