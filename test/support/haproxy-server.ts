// A real HAProxy (Debian package `haproxy`) for tests: its own config, admin socket and pid file
// in a temp dir, a frontend on a loopback port whose default_backend is the one Deployer owns
// (loaded with an extra -f, as a user would), soft reloads with -sf, stopped by pid.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runProcess } from '../../src/util/process.js';
import { onPath } from './prometheus.js';
import { waitFor } from './net.js';

export const HAPROXY = onPath('haproxy');

/** In CI a missing haproxy is a failure, elsewhere a loud skip: whether `file` must skip. */
export function skipWithoutHaproxy(file: string): boolean {
  const skip = HAPROXY === null && process.env.CI !== 'true';
  if (skip) console.warn(`\n*** SKIPPING ${file}: haproxy is not installed (Debian package \`haproxy\`) ***\n`);
  return skip;
}

export class HaproxyServer {
  readonly main: string;
  readonly socket: string;
  /** a second stats socket at `level user`: what a socket without admin rights answers */
  readonly userSocket: string;
  readonly pidFile: string;
  readonly configFile: string;
  /** every pid this server had (an old process finishes its connections after a reload) */
  private readonly pids = new Set<number>();

  constructor(
    readonly dir: string,
    readonly port: number,
    readonly backend: string,
  ) {
    this.main = join(dir, 'main.cfg');
    this.socket = join(dir, 'admin.sock');
    this.userSocket = join(dir, 'user.sock');
    this.pidFile = join(dir, 'haproxy.pid');
    this.configFile = join(dir, 'deployer', `${backend}.cfg`);
  }

  /**
   * Writes main.cfg and a stub `backend` file (what a user creates before the first deploy), and starts haproxy -D.
   * `stub: false` keeps the backend file already there (written by `deployer router init`).
   */
  async start(o: { stub?: boolean } = {}): Promise<void> {
    mkdirSync(join(this.dir, 'deployer'), { recursive: true });
    writeFileSync(
      this.main,
      [
        'global',
        `    stats socket ${this.socket} mode 600 level admin`,
        `    stats socket ${this.userSocket} mode 600 level user`,
        'defaults',
        '    mode http',
        '    timeout connect 2s',
        '    timeout client 30s',
        '    timeout server 30s',
        '    option redispatch',
        '    retries 3',
        'frontend fe',
        `    bind 127.0.0.1:${this.port}`,
        `    default_backend ${this.backend}`,
        '',
      ].join('\n'),
    );
    if (o.stub !== false) writeFileSync(this.configFile, `backend ${this.backend}\n`);
    await this.haproxy([]);
    this.pids.add(await waitFor(() => this.pid(), 'haproxy pid file'));
  }

  /** A soft reload: a new process loads both files, the old one finishes its connections (-sf). */
  async reload(): Promise<void> {
    const old = await this.pid();
    await this.haproxy(['-sf', String(old)]);
    this.pids.add(await waitFor(async () => ((await this.pid()) !== old ? this.pid() : undefined), 'the reloaded haproxy pid'));
  }

  async pid(): Promise<number | undefined> {
    try {
      return Number(readFileSync(this.pidFile, 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  }

  /** The argv of a start (or, with -sf, a reload): for a reload_command too. */
  argv(extra: string[]): string[] {
    return [HAPROXY ?? 'haproxy', '-D', '-f', this.main, '-f', this.configFile, '-p', this.pidFile, ...extra];
  }

  private async haproxy(extra: string[]): Promise<void> {
    const r = await runProcess(this.argv(extra), { timeoutMs: 20_000 });
    if (r.code !== 0) throw new Error(`haproxy ${extra.join(' ')} exited ${r.code}: ${r.stderr}`);
  }

  /** SIGTERM to each of our pids (the current one and any old one still finishing), until gone. */
  async stop(): Promise<void> {
    const now = await this.pid();
    if (now) this.pids.add(now);
    for (const pid of this.pids) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        continue;
      }
      await waitFor(() => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      }, `haproxy ${pid} to exit`);
    }
  }
}
