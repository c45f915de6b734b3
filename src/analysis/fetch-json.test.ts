import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, MAX_METRIC_BODY_BYTES } from './fetch-json.js';
import { httpServer, type TestServer } from './test-support.js';

// A metric endpoint that answers too much is refused without reading its body whole.

/** Bytes each response has written, by path; a response stops at 256 MiB or when the client goes. */
const written = new Map<string, number>();
const BOUND = 256 * 1024 * 1024;

/** Writes 64 KiB chunks, honouring backpressure, until the client goes away or BOUND is reached. */
function flood(res: ServerResponse, key: string): void {
  const chunk = Buffer.alloc(65536, 0x20);
  let n = 0;
  const more = () => {
    while (n < BOUND && !res.destroyed) {
      n += chunk.length;
      written.set(key, n);
      if (!res.write(chunk)) return void res.once('drain', more);
    }
    res.end();
  };
  res.on('close', () => written.set(key, n));
  more();
}

let server: TestServer;
beforeAll(async () => {
  server = await httpServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === '/endless') return flood(res, 'endless');
    if (req.url === '/declared') {
      // a length announced up front: refused before a byte of the body is read
      res.setHeader('content-length', String(BOUND));
      return flood(res, 'declared');
    }
    res.end(JSON.stringify({ pad: 'x'.repeat(MAX_METRIC_BODY_BYTES - 20), v: 1 }));
  });
});
afterAll(() => server.close());

describe('fetchJson body cap', () => {
  it('refuses an endless body once past 1 MiB, and stops reading it', async () => {
    const started = performance.now();
    const r = await fetchJson(fetch, `${server.url}/endless`, { timeoutMs: 30_000 });
    expect(r).toEqual({ ok: false, status: 200, reason: 'HTTP 200 with a body over 1 MiB (1048576 bytes): refused, the rest not read' });
    expect(performance.now() - started).toBeLessThan(10_000);
    // the server saw the connection go: it wrote a few socket buffers past the cap, not its 256 MiB
    await expect.poll(() => written.get('endless'), { timeout: 5000 }).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses a declared content-length over the cap before reading the body', async () => {
    const r = await fetchJson(fetch, `${server.url}/declared`, { timeoutMs: 30_000 });
    expect(r).toEqual({ ok: false, status: 200, reason: `HTTP 200 with a body of ${BOUND} bytes: over 1 MiB (1048576 bytes), refused unread` });
    await expect.poll(() => written.get('declared'), { timeout: 5000 }).toBeLessThan(32 * 1024 * 1024);
  });

  it('reads a body just under the cap', async () => {
    const r = await fetchJson(fetch, `${server.url}/fits`, { timeoutMs: 30_000 });
    expect(r).toMatchObject({ ok: true, status: 200, json: { v: 1 } });
  });
});
