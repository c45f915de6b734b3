// The router's HTTP/1.1 engine byte by byte: raw clients against RouterCore, for framing,
// request-smuggling defences, pipelining, 1xx, HEAD/204/304, HTTP/1.0 and close-delimited responses.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createNetServer, type Server as NetServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouterApp } from '../src/runtime/model.js';
import { RouterCore, type RouterCoreOptions } from '../src/runtime/router/core.js';
import { freePort, waitFor } from './support/net.js';
import { raw } from './support/raw-http.js';
import { appSpec } from './support/router-process.js';

const servers: (Server | NetServer)[] = [];
/** random bytes: any byte out of place (e.g. a reused read buffer overwritten under a queued write) shows */
const RANDOM = randomBytes(10 * 1024 * 1024 + 17);
const cores: RouterCore[] = [];

afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.close(1000)));
  for (const s of servers.splice(0)) {
    if ('closeAllConnections' in s) s.closeAllConnections();
    s.close();
  }
});

interface Seen {
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
}

async function backend(): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { requests: [] };
  const s = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    if (url === '/health') return void res.end('ok');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.requests.push({ method: req.method ?? '', url, headers: req.headers, body: body.toString('latin1') });
      if (url === '/echo') return void res.end(JSON.stringify({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') }));
      if (url === '/chunked') {
        res.writeHead(200, { 'content-type': 'text/plain', trailer: 'x-sum' });
        res.write('one,');
        setTimeout(() => {
          res.write('two');
          res.addTrailers({ 'x-sum': '2' });
          res.end();
        }, 20);
        return;
      }
      if (url === '/204') {
        res.statusCode = 204;
        return void res.end();
      }
      if (url === '/304') {
        res.statusCode = 304;
        return void res.end();
      }
      if (url === '/never') return;
      if (url === '/big') return void res.end(Buffer.alloc(4 * 1024 * 1024, 'x'));
      if (url === '/random') return void res.end(RANDOM);
      if (url === '/random-chunked') {
        // small pieces, one per turn of the event loop: the router reads them one by one
        let i = 0;
        const next = (): void => {
          if (i >= RANDOM.length) return void res.end();
          res.write(RANDOM.subarray(i, (i += 3000)));
          setImmediate(next);
        };
        return next();
      }
      res.setHeader('content-type', 'text/plain');
      res.end(`${req.method} ${url}`);
    });
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as { port: number }).port, seen };
}

/** A target that answers every request with a close-delimited response. */
async function closeDelimitedBackend(body: string): Promise<number> {
  const s = createNetServer((sock) => {
    sock.once('data', () => sock.end(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n${body}`));
    sock.on('error', () => undefined);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

async function router(targetPort: number, opts: RouterCoreOptions = {}, over: Partial<RouterApp> = {}): Promise<{ core: RouterCore; port: number }> {
  const core = new RouterCore(opts);
  cores.push(core);
  const port = await freePort();
  await core.upsertApp(appSpec(port, targetPort, over));
  return { core, port };
}

const count = (text: string, what: string): number => text.split(what).length - 1;
const bytes = (s: string): string[] => [...s];

describe('router http1: framing', () => {
  it('answers pipelined requests one at a time, in order, with their bodies', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    const r = await raw(port, ['GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhelloGET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n']);
    expect(r.closed).toBe(true);
    expect(count(r.text, 'HTTP/1.1 200 OK')).toBe(3);
    expect(r.text.indexOf('GET /a')).toBeLessThan(r.text.indexOf('POST /b'));
    expect(r.text.indexOf('POST /b')).toBeLessThan(r.text.indexOf('GET /c'));
    expect(b.seen.requests.map((q) => `${q.method} ${q.url} ${q.body}`)).toEqual(['GET /a ', 'POST /b hello', 'GET /c ']);
    expect(r.text).toMatch(/connection: close\r\n/i);
  });

  it('takes a request delivered byte by byte, chunked body with extensions and trailers included', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    const req = 'POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n';
    const r = await raw(port, bytes(req), { gapMs: 1, until: (t) => t.includes('}') });
    expect(r.text).toContain(JSON.stringify({ size: 11, sha256: createHash('sha256').update('hello world').digest('hex') }));
    expect(b.seen.requests[0]!.body).toBe('hello world');
  });

  it('passes a chunked response with trailers through, and HEAD, 204 and 304 without bodies on a kept-alive connection', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    const r = await raw(port, ['GET /chunked HTTP/1.1\r\nHost: h\r\n\r\n', 'HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /204 HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /304 HTTP/1.1\r\nHost: h\r\n\r\n', 'GET /last HTTP/1.1\r\nHost: h\r\n\r\n'], {
      gapMs: 60,
      until: (t) => t.includes('GET /last'),
    });
    expect(r.text).toMatch(/transfer-encoding: chunked\r\n/i);
    expect(r.text).toContain('4\r\none,\r\n3\r\ntwo\r\n0\r\nx-sum: 2\r\n\r\n');
    expect(r.text).toContain('HTTP/1.1 204 No Content');
    expect(r.text).toContain('HTTP/1.1 304 Not Modified');
    expect(count(r.text, 'HTTP/1.1 ')).toBe(5);
    // the target's own keep-alive headers are not passed on
    expect(r.text).not.toMatch(/keep-alive: timeout/i);
    expect(r.text).not.toMatch(/^connection:/im);
  });

  it('closes after an HTTP/1.0 request and after Connection: close', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    const a = await raw(port, ['GET /old HTTP/1.0\r\n\r\n']);
    expect(a.closed).toBe(true);
    expect(a.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(a.text).toMatch(/connection: close\r\n/i);
    expect(a.text.endsWith('GET /old')).toBe(true);
    expect(b.seen.requests[0]!.headers.connection).toBe('close');
    const c = await raw(port, ['GET /new HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n']);
    expect(c.closed).toBe(true);
    expect(c.text.endsWith('GET /new')).toBe(true);
  });

  it('forwards a close-delimited response and then closes the client connection', async () => {
    const target = await closeDelimitedBackend('until the end');
    const { port, core } = await router(target);
    const r = await raw(port, ['GET / HTTP/1.1\r\nHost: h\r\n\r\n']);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(r.text).toMatch(/connection: close\r\n/i);
    expect(r.text.endsWith('\r\n\r\nuntil the end')).toBe(true);
    expect(core.metrics()[0]!.pools.blue!.requests['2xx']).toBe(1);
  });

  it('forwards 100 Continue before the body is sent', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    const sock = connect({ host: '127.0.0.1', port });
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    sock.write('POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n');
    await waitFor(() => (text.includes('100 Continue') ? true : undefined), '100 Continue');
    sock.write('data');
    await waitFor(() => (text.includes('"size":4') ? true : undefined), 'the final response');
    expect(text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    sock.destroy();
  });
});

describe('router http1: hostile input', () => {
  it.each([
    ['Content-Length with Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['a coding other than chunked', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n', 400],
    ['a coding before chunked', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['differing Content-Lengths', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 30\r\n\r\nxGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['a non-digit Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1e3\r\n\r\n', 400],
    ['whitespace before a colon', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n Transfer-Encoding: chunked\r\n\r\n', 400],
    ['a header line without a colon', 'GET / HTTP/1.1\r\nHost: h\r\nbogus\r\n\r\n', 400],
    ['an unknown version', 'GET / HTTP/1.2\r\nHost: h\r\n\r\n', 400],
    ['not HTTP at all', 'hello there\r\n\r\n', 400],
    ['an absolute-form target', 'GET http://other/ HTTP/1.1\r\nHost: h\r\n\r\n', 400],
  ])('refuses %s and closes, sending the target nothing', async (_name, req, status) => {
    const b = await backend();
    const { port } = await router(b.port);
    const r = await raw(port, [req]);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(r.text).toMatch(/connection: close\r\n/i);
    expect(b.seen.requests).toEqual([]);
  });

  it('refuses a chunk size that is not hex or beyond 2^53 and closes', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    for (const size of ['zz', '40000000000000', '-1', '0x10']) {
      const r = await raw(port, [`POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n`]);
      expect(r.closed).toBe(true);
      expect(r.text).toMatch(/^(HTTP\/1\.1 400 |$)/);
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(b.seen.requests.filter((q) => q.url === '/smuggled')).toEqual([]);
  });

  it('answers 431 to a head larger than 64 KiB', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    const r = await raw(port, [`GET / HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(70 * 1024)}\r\n\r\n`]);
    expect(r.closed).toBe(true);
    expect(r.text).toMatch(/^HTTP\/1\.1 431 /);
  });

  it('gathers a large head sent in many small pieces', async () => {
    const b = await backend();
    const { port } = await router(b.port);
    const head = `GET /many HTTP/1.1\r\nHost: h\r\nX-Big: ${'a'.repeat(12 * 1024)}\r\n\r\n`;
    const pieces: string[] = [];
    for (let i = 0; i < head.length; i += 64) pieces.push(head.slice(i, i + 64));
    const r = await raw(port, pieces, { gapMs: 0, until: (t) => t.includes('GET /many') });
    expect(r.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(b.seen.requests[0]!.headers['x-big']).toHaveLength(12 * 1024);
  });
});

describe('router http1: slow clients', () => {
  it.each(['/random', '/random-chunked'])('streams %s intact to a client that reads slowly', async (path) => {
    const b = await backend();
    const { port } = await router(b.port);
    const sock = connect({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    // nothing read at first: the kernel buffers fill and the router's writes queue up
    sock.pause();
    sock.write(`GET ${path} HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n`);
    const closed = new Promise((r) => sock.once('close', r));
    await new Promise((r) => setTimeout(r, 300));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      // then read in bursts with pauses
      sock.pause();
      setTimeout(() => sock.resume(), chunks.length % 10 === 0 ? 20 : 1);
    });
    sock.resume();
    await closed;
    const all = Buffer.concat(chunks);
    const headEnd = all.indexOf('\r\n\r\n') + 4;
    let body = all.subarray(headEnd);
    if (path === '/random-chunked') {
      // de-chunk
      const parts: Buffer[] = [];
      let p = 0;
      for (;;) {
        const eol = body.indexOf('\r\n', p);
        const size = parseInt(body.toString('latin1', p, eol), 16);
        if (size === 0) break;
        parts.push(body.subarray(eol + 2, eol + 2 + size));
        p = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts);
    }
    expect(body.length).toBe(RANDOM.length);
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(RANDOM).digest('hex'));
  });
});

describe('router http1: failures and accounting', () => {
  it('answers 504 when the target sends no response head in time', async () => {
    const b = await backend();
    const { port, core } = await router(b.port, { headersTimeoutMs: 200 });
    const r = await raw(port, ['GET /never HTTP/1.1\r\nHost: h\r\n\r\n'], { until: (t) => t.includes('\r\n\r\n') });
    expect(r.text).toMatch(/^HTTP\/1\.1 504 Gateway Timeout\r\n/);
    expect(core.metrics()[0]!.pools.blue!.requests.errors).toBe(1);
    expect(core.view()[0]!.pools[0]!.targets[0]!.inFlight).toBe(0);
  });

  it('releases the in-flight slot once when the client goes away mid-response', async () => {
    const b = await backend();
    const { port, core } = await router(b.port);
    const sock = connect({ host: '127.0.0.1', port });
    sock.write('GET /big HTTP/1.1\r\nHost: h\r\n\r\n');
    const [first] = (await new Promise((r) => sock.once('data', (d) => r([d])))) as [Buffer];
    expect(first.toString('latin1')).toMatch(/^HTTP\/1\.1 200 OK/);
    sock.pause();
    sock.destroy();
    await waitFor(() => (core.view()[0]!.pools[0]!.targets[0]!.inFlight === 0 ? true : undefined), 'in-flight to return to 0');
    // the next request gets a fresh answer
    const r = await raw(port, ['GET /after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n']);
    expect(r.text.endsWith('GET /after')).toBe(true);
    expect(core.view()[0]!.pools[0]!.targets[0]!.inFlight).toBe(0);
  });
});
