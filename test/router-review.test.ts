// Review findings for the HTTP/1.1 engine: each test fails against the current router and
// describes the behaviour it should have. Same raw-client style as router-http1.test.ts.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouterApp } from '../src/runtime/model.js';
import { RouterCore, type RouterCoreOptions } from '../src/runtime/router/core.js';
import { freePort, waitFor } from './support/net.js';
import { raw, type RawOptions } from './support/raw-http.js';

const servers: (Server | NetServer)[] = [];
const cores: RouterCore[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(cores.splice(0).map((c) => c.close(1000)));
  for (const s of servers.splice(0)) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    s.close();
  }
});

interface Seen {
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
}

/** A plain node:http app (no 'upgrade' listener, like most apps). */
async function backend(): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { requests: [] };
  const s = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.requests.push({ method: req.method ?? '', url, headers: req.headers, body: body.toString('latin1') });
      if (url === '/echo') return void res.end(JSON.stringify({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${url}`);
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as { port: number }).port, seen };
}

function spec(port: number, targets: number[], over: Partial<RouterApp> = {}): RouterApp {
  return {
    name: 'shop',
    listen: { host: '127.0.0.1', port },
    hostnames: [],
    pools: [{ name: 'blue', weight: 1, targets: targets.map((p, i) => ({ id: `blue-${i}`, host: '127.0.0.1', port: p, initial: 'healthy' as const })) }],
    health: { path: null, intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 100, healthyThreshold: 1 },
    stickyCookie: null,
    drainTimeoutMs: 1000,
    unavailableWaitMs: 0,
    ...over,
  };
}

async function router(targets: number[], opts: RouterCoreOptions = {}, over: Partial<RouterApp> = {}): Promise<{ core: RouterCore; port: number }> {
  const core = new RouterCore(opts);
  cores.push(core);
  const port = await freePort();
  await core.upsertApp(spec(port, targets, over));
  return { core, port };
}

/** A clock for the router (RouterCoreOptions.now) moved by hand: sweeps see the time it says. */
function manualClock(): { now: () => number; advance: (l: ListenerInternals, ms: number) => void } {
  let t = 0;
  return {
    now: () => t,
    advance: (l, ms) => {
      t += ms;
      l.sweep();
    },
  };
}

/** raw(), with the socket destroyed after the test */
const rawT = (port: number, pieces: (string | Buffer)[], opts: RawOptions = {}) => raw(port, pieces, { ...opts, track: (x) => sockets.push(x) });

const count = (text: string, what: string): number => text.split(what).length - 1;

interface ListenerInternals {
  conns: Set<{ socket: Socket; buf: Buffer | null; lastAt: number; drainPaused: boolean }>;
  clock: number;
  sweep(): void;
}
/** The (only) listener of a core: for its open client connections and its idle sweep. */
function listenerOf(core: RouterCore): ListenerInternals {
  const ls = (core as unknown as { listeners: Map<string, ListenerInternals> }).listeners;
  return [...ls.values()][0]!;
}

describe('router review: upgrade', () => {
  it('does not turn an Upgrade request the target did not accept (no 101) into a raw tunnel that skips X-Forwarded-* handling', async () => {
    const b = await backend();
    const { port } = await router([b.port]);
    // the target has no 'upgrade' handler: it answers the first request normally and keeps the connection;
    // the second request is then sent by the client straight to the target
    const r = await rawT(
      port,
      [
        'GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n',
        'GET /admin HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n\r\n',
      ],
      { gapMs: 100, timeoutMs: 1500 },
    );
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK/);
    // every request the target sees went through the router's header handling
    for (const q of b.seen.requests) {
      expect(q.headers['x-forwarded-for']).toMatch(/127\.0\.0\.1$/);
      expect(q.headers['x-forwarded-proto']).toBe('http');
      expect(q.headers['x-forwarded-host']).toBe('h');
    }
  });
});

describe('router review: resource bounds', () => {
  it('stops reading a client that pipelines requests for an unknown host without reading the 404s', async () => {
    const b = await backend();
    const { core, port } = await router([b.port], {}, { hostnames: ['known.example'] });
    const sock = connect({ host: '127.0.0.1', port, noDelay: true });
    sockets.push(sock);
    sock.pause(); // never reads
    sock.on('error', () => undefined);
    await new Promise((r) => sock.once('connect', r));
    const req = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(4096));
    // ~2.6 MB of requests: with backpressure the router stops reading once its writes queue up
    for (let i = 0; i < 24; i++) sock.write(req);
    const conn = [...listenerOf(core).conns][0]!;
    // the router stopped reading (paused for its queued writes), or it has read and answered all
    // there was (a router without backpressure)
    const total = 24 * req.length;
    await waitFor(() => (conn.drainPaused || (conn.socket.bytesRead === total && conn.buf === null) ? true : undefined), 'the router to stop reading or to be done', 20_000);
    // what the router holds queued for this client, on top of the kernel's socket buffers
    expect(conn.drainPaused).toBe(true);
    expect(conn.socket.writableLength).toBeLessThan(1024 * 1024);
  });

  it('closes a client connection that keeps its side open after a Connection: close response', async () => {
    const b = await backend();
    const clock = manualClock();
    const { core, port } = await router([b.port], { now: clock.now });
    const sock = connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true });
    sockets.push(sock);
    sock.on('error', () => undefined);
    let text = '';
    let ended = false;
    let closed = false;
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.on('end', () => (ended = true)); // the router's FIN: we never answer with ours
    sock.on('close', () => (closed = true));
    sock.write('GET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n');
    await waitFor(() => (ended ? true : undefined), 'the response and the router FIN');
    expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
    // a full idle period (60 s) and more: an idle keep-alive connection is long gone by now
    const l = listenerOf(core);
    for (let i = 0; i < 30; i++) clock.advance(l, 5_000);
    // the router let go of it (its fd is closed; the kernel still delivers anything unread, then
    // answers the lingering client's next segment with a reset)
    await waitFor(() => (l.conns.size === 0 ? true : undefined), 'the router to close the lingering connection');
    expect(closed).toBe(false);
  });
});

describe('router review: framing', () => {
  it('answers every pipelined request that arrived before the client half-closed', async () => {
    const b = await backend();
    const { port } = await router([b.port]);
    const r = await rawT(port, ['GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n'], { end: true });
    expect(r.closed).toBe(true);
    expect(count(r.text, 'HTTP/1.1 200 OK')).toBe(3);
    expect(r.text.endsWith('GET /c')).toBe(true);
  });
});

describe('router review: timeouts and retries', () => {
  it('does not answer 504 while the client is still uploading (the response-head timeout starts once the request is sent)', async () => {
    const b = await backend();
    const { port } = await router([b.port], { headersTimeoutMs: 300 });
    const pieces: string[] = ['POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nConnection: close\r\n\r\n', ...'0123456789'];
    // the upload takes ~1 s; the target answers at once when it has it
    const r = await rawT(port, pieces, { gapMs: 100, timeoutMs: 4000 });
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(r.text).toContain('"size":10');
  });

  it('sends a POST to another target when the connect to the first is refused (nothing reached the target)', async () => {
    const b = await backend();
    const dead = await freePort();
    const { core, port } = await router([dead, b.port]);
    // round-robin: the first request goes to the dead target (blue-0)
    const r = await rawT(port, ['POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndata']);
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(core.view()[0]!.pools[0]!.targets.map((t) => t.inFlight)).toEqual([0, 0]);
  });

  it('does not re-send a GET that the target received on a fresh connection and died on (no query-of-death amplification)', async () => {
    let requests = 0;
    const s = createNetServer((sock) => {
      sock.on('error', () => undefined);
      // the app "crashes" on this request: the connection drops with no response
      sock.once('data', () => {
        requests++;
        sock.destroy();
      });
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = await router([(s.address() as { port: number }).port]);
    const r = await rawT(port, ['GET /boom HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n']);
    expect(r.text).toMatch(/^HTTP\/1\.1 502 /);
    expect(requests).toBe(1);
  });
});

describe('router review: early responses', () => {
  it('lets go of a client connection whose upload was cut short by an early response, once the client closes', async () => {
    // the target reads no more after the first bytes (its receive buffer fills) and then answers 413
    const s = createNetServer((sock) => {
      sock.on('error', () => undefined);
      sock.once('data', () => {
        sock.pause();
        // answered once the upload has stalled (the router has paused the client)
        setTimeout(() => sock.write('HTTP/1.1 413 Payload Too Large\r\ncontent-length: 0\r\n\r\n'), 500);
      });
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { core, port } = await router([(s.address() as { port: number }).port]);
    const sock = connect({ host: '127.0.0.1', port, noDelay: true });
    sockets.push(sock);
    sock.on('error', () => undefined);
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    const size = 64 * 1024 * 1024;
    sock.write(`POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: ${size}\r\n\r\n`);
    const piece = Buffer.alloc(1024 * 1024, 'x');
    for (let i = 0; i < 32; i++) sock.write(piece);
    await waitFor(() => (text.includes('413') ? true : undefined), 'the early 413');
    // the client gives up on the upload and closes its connection
    sock.destroy();
    const l = listenerOf(core);
    await waitFor(() => (l.conns.size === 0 ? true : undefined), 'the router to let go of the connection');
  });
});

describe('router review: follow-ups', () => {
  it('does not reuse an upstream connection after a HEAD/204/304 response whose head promised a body', async () => {
    // a broken target: its 204 says content-length: 20 (bytes it might still send later)
    // connections that carried a request (the router may open others, e.g. to probe the target)
    let conns = 0;
    const s = createNetServer((sock) => {
      sock.on('error', () => undefined);
      let buf = '';
      let used = false;
      sock.on('data', (d: Buffer) => {
        if (!used) conns++;
        used = true;
        buf += d.toString('latin1');
        let i: number;
        while ((i = buf.indexOf('\r\n\r\n')) !== -1) {
          const head = buf.slice(0, i);
          buf = buf.slice(i + 4);
          if (head.startsWith('DELETE')) sock.write('HTTP/1.1 204 No Content\r\ncontent-length: 20\r\n\r\n');
          else sock.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        }
      });
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const { port } = await router([(s.address() as { port: number }).port]);
    const ok = (t: string): boolean => t.endsWith('\r\n\r\nok');
    // a well-behaved response keeps the connection
    expect((await rawT(port, ['GET /a HTTP/1.1\r\nHost: h\r\n\r\n'], { until: ok })).text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect((await rawT(port, ['GET /a HTTP/1.1\r\nHost: h\r\n\r\n'], { until: ok })).text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(conns).toBe(1);
    const r = await rawT(port, ['DELETE /x HTTP/1.1\r\nHost: h\r\n\r\n'], { until: (t) => t.includes('\r\n\r\n') });
    expect(r.text).toMatch(/^HTTP\/1\.1 204 /);
    // the next request does not go on the connection that answered the 204
    expect((await rawT(port, ['GET /a HTTP/1.1\r\nHost: h\r\n\r\n'], { until: ok })).text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(conns).toBe(2);
  });

  it('closes a connection that only trickles blank lines (no request head ever completes)', async () => {
    const b = await backend();
    const clock = manualClock();
    const { core, port } = await router([b.port], { now: clock.now });
    const sock = connect({ host: '127.0.0.1', port, noDelay: true });
    sockets.push(sock);
    sock.on('error', () => undefined);
    let closed = false;
    sock.on('close', () => (closed = true));
    await new Promise((r) => sock.once('connect', r));
    const l = listenerOf(core);
    await waitFor(() => (l.conns.size === 1 ? true : undefined), 'the router to accept');
    const conn = [...l.conns][0]!;
    // a CRLF every 5 s (of the router's clock) for 150 s: bytes keep coming, but never a request
    for (let i = 0; i < 30 && !closed; i++) {
      clock.advance(l, 5_000);
      sock.write('\r\n');
      await waitFor(() => (closed || conn.lastAt === l.clock ? true : undefined), 'the router to read the CRLF');
    }
    await waitFor(() => (closed && l.conns.size === 0 ? true : undefined), 'the router to close the connection');
    expect(b.seen.requests).toEqual([]);
  });

});
