// The built router (dist/router.js) as its own process, driven over its control socket: for the
// tests that check the router as it runs in production.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request, type Agent, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';
import type { RouterApp } from '../../src/runtime/model.js';
import { waitFor } from './net.js';

const ROUTER = fileURLToPath(new URL('../../dist/router.js', import.meta.url));

export interface Reply {
  status: number;
  body: unknown;
  text: string;
}

export class RouterProcess {
  readonly dir = mkdtempSync(join(tmpdir(), 'router-test-'));
  readonly sock = join(this.dir, 'router.sock');
  stderr = '';
  proc: ChildProcess | null = null;

  /** Starts the router and waits for its control socket. */
  async start(extra: string[] = []): Promise<ChildProcess> {
    const p = spawn(process.execPath, [ROUTER, '--control', this.sock, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.proc = p;
    await waitFor(async () => ((await this.ctl('GET', '/state')).status === 200 ? true : undefined), 'the control socket');
    return p;
  }

  /** One control API call; a JSON answer is parsed into body, text answers are in text. */
  ctl(method: string, path: string, body?: unknown): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const req = request({ socketPath: this.sock, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          let parsed: unknown = null;
          try {
            parsed = JSON.parse(text);
          } catch {
            // text (Prometheus) answers
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text });
        });
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
    });
  }

  /** Kills the process (if it still runs) and removes its directory. */
  async stop(): Promise<void> {
    const p = this.proc;
    this.proc = null;
    if (p !== null && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** An app on 127.0.0.1:port with one target taken as healthy (no checks to wait for). */
export function appSpec(port: number, targetPort: number, over: Partial<RouterApp> = {}): RouterApp {
  return {
    name: 'shop',
    listen: { host: '127.0.0.1', port },
    hostnames: [],
    pools: [{ name: 'blue', weight: 1, targets: [{ id: 'blue-0', host: '127.0.0.1', port: targetPort, initial: 'healthy' }] }],
    health: { path: null, intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 100, healthyThreshold: 1 },
    stickyCookie: null,
    drainTimeoutMs: 1000,
    unavailableWaitMs: 0,
    ...over,
  };
}

/** What a test file of the router process holds: a new process per test, and what it opened, closed after each. */
export interface RouterProcessEnv {
  /** this test's router process (start it with rp.start()) */
  readonly rp: RouterProcess;
  /** backends, client sockets and agents to close after the test */
  servers: Server[];
  sockets: Socket[];
  agents: Agent[];
}

/** Registers the per-test router process and the clean-up of what the test opened. */
export function useRouterProcess(): RouterProcessEnv {
  let rp: RouterProcess | null = null;
  const env: RouterProcessEnv = {
    get rp() {
      if (rp === null) throw new Error('the router process exists inside a test only');
      return rp;
    },
    servers: [],
    sockets: [],
    agents: [],
  };
  beforeEach(() => {
    rp = new RouterProcess();
  });
  afterEach(async () => {
    for (const s of env.sockets.splice(0)) s.destroy();
    for (const a of env.agents.splice(0)) a.destroy();
    await rp?.stop();
    for (const s of env.servers.splice(0)) {
      s.closeAllConnections();
      s.close();
    }
  });
  return env;
}
