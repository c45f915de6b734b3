// Helpers shared by the in-process router tests (router, router-weights, router-targets): node:http
// backends on loopback, a RouterCore per test, app specs, a one-shot client, and autocannon load.
import { createHash } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { afterEach } from 'vitest';
import type { RouterApp } from '../../src/runtime/model.js';
import { RouterCore } from '../../src/runtime/router/core.js';
import { seededRandom as seeded } from '../../src/util/seeded-random.js';

// ---- backends ----

export interface Backend {
  name: string;
  port: number;
  server: Server;
  hits: number;
  /** requests to /slow wait until this is called */
  releaseSlow(): void;
  slowArrived: number;
  /** the path of the last health check the router sent */
  lastHealthPath?: string;
  close(): Promise<void>;
}

const backends: Backend[] = [];
const cores: RouterCore[] = [];

export async function backend(name: string, port?: number): Promise<Backend> {
  let release: (() => void)[] = [];
  const upgraded = new Set<Socket>();
  const b: Backend = {
    name,
    port: 0,
    server: createServer(),
    hits: 0,
    slowArrived: 0,
    releaseSlow: () => {
      for (const r of release) r();
      release = [];
    },
    close: async () => {
      b.server.closeAllConnections();
      for (const s of upgraded) s.destroy();
      if (b.server.listening) await new Promise<void>((r) => b.server.close(() => r()));
    },
  };
  b.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (req.headers['user-agent'] === 'deployer-router-health') b.lastHealthPath = url;
    if (url === '/health') return void res.end('ok');
    b.hits++;
    if (url === '/headers') {
      res.setHeader('content-type', 'application/json');
      res.setHeader('set-cookie', ['a=1', 'b=2']);
      res.setHeader('keep-alive', 'timeout=5');
      return void res.end(JSON.stringify({ name, headers: req.headers, url }));
    }
    if (url === '/echo') {
      const hash = createHash('sha256');
      let size = 0;
      req.on('data', (c: Buffer) => {
        hash.update(c);
        size += c.length;
      });
      req.on('end', () => res.end(JSON.stringify({ name, size, sha256: hash.digest('hex') })));
      return;
    }
    if (url === '/big') {
      const chunk = Buffer.alloc(64 * 1024, name);
      let sent = 0;
      const pump = (): void => {
        while (sent < 80) {
          sent++;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    if (url.startsWith('/status/')) {
      res.statusCode = Number(url.slice(8));
      return void res.end(name);
    }
    if (url === '/slow') {
      b.slowArrived++;
      release.push(() => res.end(`${name} slow`));
      return;
    }
    res.end(name);
  });
  b.server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Backend: ${name}\r\nX-Seen-Forwarded-For: ${req.headers['x-forwarded-for']}\r\n\r\n`);
    upgraded.add(socket);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('close', () => upgraded.delete(socket));
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    b.server.once('error', reject);
    b.server.listen(port ?? 0, '127.0.0.1', () => resolve());
  });
  b.port = (b.server.address() as { port: number }).port;
  backends.push(b);
  return b;
}

/** Closes every core and backend the calling file's tests made, after each test. */
export function useRouterCleanup(): void {
  afterEach(async () => {
    await Promise.all(cores.splice(0).map((c) => c.close(2000)));
    await Promise.all(backends.splice(0).map((b) => b.close()));
  });
}

// autocannon ships no types (and @types/autocannon is not installed): the little used here
export interface LoadResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  '2xx': number;
}
interface LoadInstance {
  on(event: 'done', fn: (r: LoadResult) => void): LoadInstance;
  on(event: 'error', fn: (e: Error) => void): LoadInstance;
}
const autocannon = createRequire(import.meta.url)('autocannon') as (opts: { url: string; connections: number; duration: number; timeout: number }) => LoadInstance;

// ---- router ----

export function core(): RouterCore {
  const c = new RouterCore({ random: seeded(7) });
  cores.push(c);
  return c;
}

export type PoolDef = [name: string, weight: number, targets: (Backend | number)[]];

export function spec(name: string, port: number, pools: PoolDef[], over: Partial<RouterApp> = {}): RouterApp {
  return {
    name,
    listen: { host: '127.0.0.1', port },
    hostnames: [],
    pools: pools.map(([pool, weight, ts]) => ({
      name: pool,
      weight,
      targets: ts.map((t, i) => ({ id: `${pool}-${i}`, host: '127.0.0.1', port: typeof t === 'number' ? t : t.port, initial: 'healthy' as const })),
    })),
    health: { path: '/health', intervalMs: 50, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 },
    stickyCookie: null,
    drainTimeoutMs: 5000,
    unavailableWaitMs: 2000,
    ...over,
  };
}

export interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  text: string;
}

export function hit(port: number, path = '/', opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: false, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function targetOf(c: RouterCore, app: string, id: string) {
  const t = c
    .view()
    .find((a) => a.name === app)
    ?.pools.flatMap((p) => p.targets)
    .find((x) => x.id === id);
  if (!t) throw new Error(`no target ${id}`);
  return t;
}

/** autocannon on loopback, bounded in time; returns its result. */
export async function load(port: number, seconds: number, during?: () => Promise<void>): Promise<LoadResult> {
  const instance = autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, duration: seconds, timeout: 5 });
  const done = new Promise<LoadResult>((resolve, reject) => instance.on('done', resolve).on('error', reject));
  if (during) await during();
  return done;
}
