// The router in-process (RouterCore) against real node:http backends on loopback.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { createServer as createNetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouterApp } from '../src/runtime/model.js';
import { RouterCore } from '../src/runtime/router/core.js';
import { freePort, waitFor } from './support/net.js';
import { seededRandom as seeded } from '../src/util/seeded-random.js';

// ---- backends ----

interface Backend {
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

async function backend(name: string, port?: number): Promise<Backend> {
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

afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.close(2000)));
  await Promise.all(backends.splice(0).map((b) => b.close()));
});

// autocannon ships no types (and @types/autocannon is not installed): the little used here
interface LoadResult {
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

function core(): RouterCore {
  const c = new RouterCore({ random: seeded(7) });
  cores.push(c);
  return c;
}

type PoolDef = [name: string, weight: number, targets: (Backend | number)[]];

function spec(name: string, port: number, pools: PoolDef[], over: Partial<RouterApp> = {}): RouterApp {
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

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
  text: string;
}

function hit(port: number, path = '/', opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
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

function targetOf(c: RouterCore, app: string, id: string) {
  const t = c
    .view()
    .find((a) => a.name === app)
    ?.pools.flatMap((p) => p.targets)
    .find((x) => x.id === id);
  if (!t) throw new Error(`no target ${id}`);
  return t;
}

/** autocannon on loopback, bounded in time; returns its result. */
async function load(port: number, seconds: number, during?: () => Promise<void>): Promise<LoadResult> {
  const instance = autocannon({ url: `http://127.0.0.1:${port}/`, connections: 10, duration: seconds, timeout: 5 });
  const done = new Promise<LoadResult>((resolve, reject) => instance.on('done', resolve).on('error', reject));
  if (during) await during();
  return done;
}

// ---- tests ----

describe('router: proxying', () => {
  it('streams a 5 MB request body and a 5 MB response body through intact', async () => {
    const b = await backend('blue');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 100, [b]]]));
    const payload = Buffer.alloc(5 * 1024 * 1024);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) & 0xff;
    const up = await hit(port, '/echo', { method: 'POST', body: payload, headers: { 'content-type': 'application/octet-stream' } });
    expect(up.status).toBe(200);
    expect(JSON.parse(up.text)).toEqual({ name: 'blue', size: payload.length, sha256: createHash('sha256').update(payload).digest('hex') });
    const down = await hit(port, '/big');
    expect(down.status).toBe(200);
    expect(down.body.length).toBe(80 * 64 * 1024);
    expect(down.body.equals(Buffer.alloc(80 * 64 * 1024, 'blue'))).toBe(true);
  });

  it('forwards headers with X-Forwarded-*, keeps Host, and drops hop-by-hop headers both ways', async () => {
    const b = await backend('blue');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 100, [b]]]));
    const r = await hit(port, '/headers', { headers: { host: 'shop.test:1234', 'x-forwarded-for': '203.0.113.5', 'x-custom': 'yes', connection: 'keep-alive, x-private', 'x-private': 'secret', te: 'trailers' } });
    expect(r.status).toBe(200);
    const seen = JSON.parse(r.text) as { headers: Record<string, string> };
    expect(seen.headers.host).toBe('shop.test:1234');
    expect(seen.headers['x-forwarded-for']).toBe('203.0.113.5, 127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('shop.test:1234');
    expect(seen.headers['x-custom']).toBe('yes');
    expect(seen.headers['x-private']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['content-type']).toBe('application/json');
    // the backend's Keep-Alive header is not passed on (the router's own keep-alive applies)
    expect(r.headers['keep-alive']).not.toBe('timeout=5');
  });

  it('routes two apps on one port by Host, and answers 404 for an unknown host without a default app', async () => {
    const a = await backend('app-a');
    const b = await backend('app-b');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('a', port, [['blue', 1, [a]]], { hostnames: ['a.test'] }));
    await c.upsertApp(spec('b', port, [['blue', 1, [b]]], { hostnames: ['b.test', 'www.b.test'] }));
    expect((await hit(port, '/', { headers: { host: 'A.TEST:8080' } })).text).toBe('app-a');
    expect((await hit(port, '/', { headers: { host: 'www.b.test' } })).text).toBe('app-b');
    const none = await hit(port, '/', { headers: { host: 'c.test' } });
    expect(none.status).toBe(404);
    expect(none.text).toMatch(/no app/);
    // an app without hostnames becomes the default of the listener
    await c.upsertApp(spec('b', port, [['blue', 1, [b]]], { hostnames: [] }));
    expect((await hit(port, '/', { headers: { host: 'c.test' } })).text).toBe('app-b');
    expect((await hit(port, '/', { headers: { host: 'a.test' } })).text).toBe('app-a');
    // removing an app frees its hostnames; the listener closes when no app uses it
    await c.removeApp('b');
    expect((await hit(port, '/', { headers: { host: 'c.test' } })).status).toBe(404);
    await c.removeApp('a');
    await waitFor(async () => ((await hit(port).catch((e: NodeJS.ErrnoException) => e.code)) === 'ECONNREFUSED' ? true : undefined), 'the listener to close');
  });
});

describe('router: weights and stickiness', () => {
  it('sends everything by 100/0, splits roughly by weight, and switches atomically to 0/100', async () => {
    const blue = await backend('blue');
    const green = await backend('green');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 100, [blue]], ['green', 0, [green]]]));
    for (let i = 0; i < 20; i++) expect((await hit(port)).text).toBe('blue');
    c.setWeights('shop', { blue: 30, green: 70 });
    const n = { blue: 0, green: 0 };
    for (let i = 0; i < 300; i++) n[(await hit(port)).text as 'blue' | 'green']++;
    expect(n.green / 300).toBeGreaterThan(0.55);
    expect(n.green / 300).toBeLessThan(0.85);
    c.setWeights('shop', { blue: 0, green: 100 });
    for (let i = 0; i < 20; i++) expect((await hit(port)).text).toBe('green');
    expect(() => c.setWeights('shop', { purple: 1 })).toThrow(/no pool purple/);
  });

  it('drops nothing while weights flip back and forth under concurrent load', async () => {
    const blue = await backend('blue');
    const green = await backend('green');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 100, [blue]], ['green', 0, [green]]]));
    let flips = 0;
    const result = await load(port, 3, async () => {
      const end = Date.now() + 2500;
      while (Date.now() < end) {
        c.setWeights('shop', flips % 2 ? { blue: 100, green: 0 } : { blue: 0, green: 100 });
        flips++;
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    expect(flips).toBeGreaterThan(20);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result['2xx']).toBeGreaterThan(500);
    expect(blue.hits).toBeGreaterThan(100);
    expect(green.hits).toBeGreaterThan(100);
  });

  it('pins a client to its pool with the sticky cookie while weights are split', async () => {
    const blue = await backend('blue');
    const green = await backend('green');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 50, [blue]], ['green', 50, [green]]], { stickyCookie: 'dpl_pool' }));
    const first = await hit(port);
    const cookie = first.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toBe(`dpl_pool=${first.text}; Path=/; HttpOnly; SameSite=Lax`);
    const pair = cookie.split(';')[0]!;
    for (let i = 0; i < 30; i++) {
      const r = await hit(port, '/', { headers: { cookie: `other=1; ${pair}` } });
      expect(r.text).toBe(first.text);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    // the pinned pool loses its weight: the client is moved and told so
    const other = first.text === 'blue' ? 'green' : 'blue';
    await c.upsertApp(spec('shop', port, [['blue', first.text === 'blue' ? 0 : 50, [blue]], ['green', first.text === 'green' ? 0 : 50, [green]], ['canary', 50, [other === 'blue' ? blue : green]]], { stickyCookie: 'dpl_pool' }));
    const moved = await hit(port, '/', { headers: { cookie: pair } });
    expect(moved.text).toBe(other);
    expect(moved.headers['set-cookie']?.[0]).toMatch(/^dpl_pool=(blue|green|canary);/);
    expect(moved.headers['set-cookie']?.[0]).not.toContain(`dpl_pool=${first.text};`);
    // one weighted pool: no cookie at all
    c.setWeights('shop', { blue: 100, green: 0, canary: 0 });
    expect((await hit(port)).headers['set-cookie']).toBeUndefined();
  });
});

describe('router: targets coming and going', () => {
  it('drains: the slow in-flight request completes, new requests avoid the target, drain answers when it ends', async () => {
    const b0 = await backend('b0');
    const b1 = await backend('b1');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 1, [b0]]]));
    const slow = hit(port, '/slow');
    await waitFor(() => (b0.slowArrived === 1 ? true : undefined), 'the slow request to arrive');
    // add a second target: the first keeps its state and in-flight count
    await c.upsertApp(spec('shop', port, [['blue', 1, [b0, b1]]]));
    expect(targetOf(c, 'shop', 'blue-0').inFlight).toBe(1);
    let drained: Awaited<ReturnType<RouterCore['drain']>> | null = null;
    const draining = c.drain('shop', 'blue-0').then((r) => (drained = r));
    expect(targetOf(c, 'shop', 'blue-0').state).toBe('draining');
    for (let i = 0; i < 10; i++) expect((await hit(port)).text).toBe('b1');
    expect(drained).toBeNull();
    b0.releaseSlow();
    expect((await slow).text).toBe('b0 slow');
    await draining;
    expect(drained).toMatchObject({ drained: true, inFlight: 0 });
    expect(drained!.waitedMs).toBeGreaterThan(0);
    // a drain with nothing in flight answers at once; a timeout reports what is left
    expect(await c.drain('shop', 'blue-1')).toMatchObject({ drained: true, inFlight: 0 });
    c.enable('shop', 'blue-0', true);
    const stuck = hit(port, '/slow');
    await waitFor(() => (b0.slowArrived === 2 ? true : undefined), 'the second slow request');
    expect(await c.drain('shop', 'blue-0', 100)).toMatchObject({ drained: false, inFlight: 1 });
    b0.releaseSlow();
    expect((await stuck).status).toBe(200);
    // enable without healthy: unknown until the next check passes
    c.enable('shop', 'blue-0');
    expect(['unknown', 'healthy']).toContain(targetOf(c, 'shop', 'blue-0').state);
    expect(await c.waitHealthy('shop', 'blue-0', 3000)).toEqual({ healthy: true, state: 'healthy', lastError: null });
  });

  it('loses no request when a target process dies under load (retry + health)', async () => {
    const b0 = await backend('b0');
    const b1 = await backend('b1');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 1, [b0, b1]]]));
    const result = await load(port, 3, async () => {
      await waitFor(() => (b0.hits > 200 ? true : undefined), 'traffic on b0');
      await b0.close();
    });
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(b1.hits).toBeGreaterThan(200);
    expect(targetOf(c, 'shop', 'blue-0').state).toBe('unhealthy');
    expect(targetOf(c, 'shop', 'blue-0').lastError).toMatch(/ECONNREFUSED/);
    // autocannon cuts its connections at the end: every in-flight count still returns to 0
    await waitFor(() => (targetOf(c, 'shop', 'blue-0').inFlight + targetOf(c, 'shop', 'blue-1').inFlight === 0 ? true : undefined), 'in-flight counts to return to 0');
  });

  it('retries a GET on another target when one refuses, but answers 502 for a POST with a body', async () => {
    const b1 = await backend('b1');
    const dead = await freePort();
    const port = await freePort();
    const c = core();
    // the dead target starts healthy and the checks would take 100 failures: the refused connect takes it out
    await c.upsertApp(spec('shop', port, [['blue', 1, [dead, b1]]], { health: { path: '/health', intervalMs: 60_000, timeoutMs: 200, unhealthyThreshold: 100, healthyThreshold: 1 } }));
    for (let i = 0; i < 6; i++) expect((await hit(port)).text).toBe('b1');
    expect(targetOf(c, 'shop', 'blue-0').state).toBe('unhealthy');
    await c.upsertApp(spec('shop', port, [['blue', 1, [dead]]], { unavailableWaitMs: 0 }));
    c.enable('shop', 'blue-0', true);
    const post = await hit(port, '/echo', { method: 'POST', body: 'data' });
    expect(post.status).toBe(502);
    expect(targetOf(c, 'shop', 'blue-0').inFlight).toBe(0);
  });

  it('checks each target on its own health path when it has one (a new release may move it)', async () => {
    const port = await freePort();
    const b = await backend('b');
    const c = core();
    const app = spec('hp', port, [['blue', 100, [b]]], { health: { path: '/health', intervalMs: 30, timeoutMs: 200, unhealthyThreshold: 1, healthyThreshold: 1 } });
    app.pools[0]!.targets[0] = { ...app.pools[0]!.targets[0]!, initial: 'unknown', healthPath: '/missing' };
    await c.upsertApp(app);
    // the check goes to the target's own path, not the app's
    await waitFor(() => (targetOf(c, 'hp', 'blue-0').state === 'healthy' || targetOf(c, 'hp', 'blue-0').lastError ? true : undefined), 'a first check');
    const seenPath = b.lastHealthPath;
    expect(seenPath).toBe('/missing');
    app.pools[0]!.targets[0] = { ...app.pools[0]!.targets[0]!, healthPath: null };
    await c.upsertApp(app);
    await waitFor(() => (targetOf(c, 'hp', 'blue-0').state === 'healthy' ? true : undefined), 'healthy by a TCP connect');
  });

  it('looks at a starting target again within tens of ms, not the check interval', async () => {
    const port = await freePort();
    const late = await freePort();
    const c = core();
    const app = spec('slow', port, [['blue', 100, [late]]], { health: { path: '/health', intervalMs: 5000, timeoutMs: 200, unhealthyThreshold: 2, healthyThreshold: 1 } });
    app.pools[0]!.targets[0] = { ...app.pools[0]!.targets[0]!, initial: 'unknown' };
    await c.upsertApp(app);
    // it has failed (nothing listens yet) and is past the unhealthy threshold
    await waitFor(() => (targetOf(c, 'slow', 'blue-0').state === 'unhealthy' ? true : undefined), 'the target to fail its checks');
    const b = await backend('late', late);
    const started = Date.now();
    expect((await c.waitHealthy('slow', 'blue-0', 3000)).healthy).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(b.name).toBe('late');
  });

  it('holds a request while no target is up and serves it when one comes up within the wait', async () => {
    const targetPort = await freePort();
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 1, [targetPort]]], { unavailableWaitMs: 5000 }));
    await c.upsertApp({ ...spec('shop', port, [['blue', 1, [targetPort]]], { unavailableWaitMs: 5000 }) });
    c.markDown('shop', 'blue-0');
    const started = Date.now();
    const held = hit(port, '/');
    await new Promise((r) => setTimeout(r, 300)); // the request must be waiting, not failed
    await backend('late', targetPort);
    const r = await held;
    expect(r.status).toBe(200);
    expect(r.text).toBe('late');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it('answers 503 with Retry-After when no target comes up within the wait', async () => {
    const targetPort = await freePort();
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 1, [targetPort]]], { unavailableWaitMs: 300 }));
    c.markDown('shop', 'blue-0');
    const started = Date.now();
    const r = await hit(port);
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(c.metrics()[0]!.pools.blue!.requests.errors).toBe(1);
  });

  it('proxies a WebSocket upgrade both ways and counts it in flight while open', async () => {
    const b = await backend('ws');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 1, [b]]]));
    const req = request({ host: '127.0.0.1', port, path: '/socket', headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' } });
    req.end();
    const [res, socket] = (await once(req, 'upgrade')) as [IncomingMessage, Socket];
    expect(res.statusCode).toBe(101);
    expect(res.headers['x-backend']).toBe('ws');
    expect(res.headers['x-seen-forwarded-for']).toBe('127.0.0.1');
    expect(targetOf(c, 'shop', 'blue-0').inFlight).toBe(1);
    socket.write('ping through the router');
    const [echo] = (await once(socket, 'data')) as [Buffer];
    expect(echo.toString()).toBe('ping through the router');
    socket.destroy();
    await waitFor(() => (targetOf(c, 'shop', 'blue-0').inFlight === 0 ? true : undefined), 'the upgrade to be released');
  });
});

describe('router: config and metrics', () => {
  it('refuses a listen conflict with 409 and keeps the previous config', async () => {
    const b = await backend('blue');
    const port = await freePort();
    const busy = createNetServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const busyPort = (busy.address() as { port: number }).port;
    try {
      const c = core();
      await c.upsertApp(spec('shop', port, [['blue', 1, [b]]]));
      await expect(c.upsertApp(spec('shop', busyPort, [['green', 1, [b]]]))).rejects.toMatchObject({
        status: 409,
        message: `router.listen: 127.0.0.1:${busyPort} is already in use by another program`,
      });
      expect(c.view()).toEqual([{ name: 'shop', listen: { host: '127.0.0.1', port }, pools: [{ name: 'blue', weight: 1, targets: [expect.objectContaining({ id: 'blue-0' })] }] }]);
      expect((await hit(port)).text).toBe('blue');
      // two default apps on one listener is a conflict too
      await expect(c.upsertApp(spec('other', port, [['blue', 1, [b]]]))).rejects.toMatchObject({ status: 409, message: expect.stringMatching(/already the default app/) });
    } finally {
      busy.close();
    }
  });

  it('counts requests by status class per pool and target, and renders Prometheus text', async () => {
    const b = await backend('blue');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 1, [b]]]));
    for (const s of [200, 200, 201, 302, 404, 404, 500]) expect((await hit(port, `/status/${s}`)).status).toBe(s);
    const m = c.metrics();
    expect(m[0]!.app).toBe('shop');
    expect(m[0]!.pools.blue!.requests).toEqual({ '1xx': 0, '2xx': 3, '3xx': 1, '4xx': 2, '5xx': 1, errors: 0 });
    expect(m[0]!.pools.blue!.targets['blue-0']!.requests['4xx']).toBe(2);
    expect(m[0]!.pools.blue!.latency.count).toBe(7);
    const text = c.prometheus();
    // no release given in this config: the label is there, empty
    expect(text).toContain('deployer_router_requests_total{app="shop",pool="blue",target="blue-0",release="",class="2xx"} 3');
    expect(text).toContain('deployer_router_requests_total{app="shop",pool="blue",target="blue-0",release="",class="5xx"} 1');
    expect(text).toContain('deployer_router_pool_requests_total{app="shop",pool="blue",class="4xx"} 2');
    expect(text).toContain('deployer_router_request_duration_seconds_count{app="shop",pool="blue"} 7');
    expect(text).toContain('deployer_router_target_up{app="shop",pool="blue",target="blue-0"} 1');
    expect(text).toContain('deployer_router_pool_weight{app="shop",pool="blue"} 1');
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [0-9.e+-]+)$/);
    }
  });
});
