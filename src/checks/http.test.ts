import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeHttp } from './http.js';
import { closedPort } from './test-support.js';

let server: http.Server;
let base: string;
let connections = 0;
const seen: { method?: string; connection?: string; token?: string }[] = [];
const onRequest: ((req: http.IncomingMessage) => void)[] = [];
const hanging: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    seen.push({ method: req.method, connection: req.headers.connection, token: req.headers['x-token'] as string });
    for (const f of onRequest.splice(0)) f(req);
    switch (req.url) {
      case '/ok':
        return res.end('status: ok');
      case '/down':
        res.statusCode = 503;
        return res.end('down');
      case '/moved':
        res.writeHead(301, { location: '/ok' });
        return res.end();
      case '/big': // the marker sits just past 1 MiB, after a body that is still streaming
        res.write('x'.repeat(1024 * 1024));
        return res.end('MARKER');
      case '/hang':
        return void hanging.push(res);
      default:
        res.statusCode = 404;
        return res.end();
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise((r) => server.close(r));
});

const spec = (path: string, extra: Partial<{ expectedStatus: number[]; bodyContains: string; method: 'HEAD' | 'GET'; headers: Record<string, string> }> = {}) =>
  ({ type: 'http' as const, url: base + path, expectedStatus: [200], ...extra });

describe('probeHttp', () => {
  it('passes on an expected status', async () => {
    const r = await probeHttp(spec('/ok'), 2000);
    expect(r).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('fails on another status and says what it expected', async () => {
    expect(await probeHttp(spec('/down'), 2000)).toMatchObject({ ok: false, detail: 'HTTP 503 (expected 200)' });
    const r = await probeHttp(spec('/down', { expectedStatus: [200, 204] }), 2000);
    expect(r.detail).toBe('HTTP 503 (expected 200, 204)');
  });

  it('does not follow redirects: 301 is a status like any other', async () => {
    expect(await probeHttp(spec('/moved'), 2000)).toMatchObject({ ok: false, detail: 'HTTP 301 (expected 200)' });
    expect(await probeHttp(spec('/moved', { expectedStatus: [200, 301] }), 2000)).toMatchObject({ ok: true, detail: 'HTTP 301' });
  });

  it('checks the body for bodyContains', async () => {
    expect(await probeHttp(spec('/ok', { bodyContains: 'ok' }), 2000)).toMatchObject({ ok: true, detail: 'HTTP 200' });
    expect(await probeHttp(spec('/ok', { bodyContains: 'healthy' }), 2000)).toMatchObject({
      ok: false,
      detail: 'HTTP 200 but body lacks "healthy"',
    });
  });

  it('reads at most 1 MiB of body', async () => {
    const r = await probeHttp(spec('/big', { bodyContains: 'MARKER' }), 2000);
    expect(r).toMatchObject({ ok: false, detail: 'HTTP 200 but body lacks "MARKER"' });
    expect(await probeHttp(spec('/big', { bodyContains: 'xxxx' }), 2000)).toMatchObject({ ok: true });
  });

  it('opens a fresh connection per attempt and sends method and headers', async () => {
    const before = connections;
    seen.length = 0;
    await probeHttp(spec('/ok', { method: 'HEAD', headers: { 'x-token': 't1', Connection: 'keep-alive' } }), 2000);
    await probeHttp(spec('/ok'), 2000);
    expect(connections - before).toBe(2);
    expect(seen).toEqual([
      { method: 'HEAD', connection: 'close', token: 't1' },
      { method: 'GET', connection: 'close', token: undefined },
    ]);
  });

  it('reports connection refused on a closed port', async () => {
    const port = await closedPort();
    const r = await probeHttp({ type: 'http', url: `http://127.0.0.1:${port}/`, expectedStatus: [200] }, 2000);
    expect(r).toMatchObject({ ok: false, detail: 'connection refused' });
  });

  it('gives up on a server that does not answer within the attempt timeout', async () => {
    const t0 = performance.now();
    const r = await probeHttp(spec('/hang'), 300);
    expect(r).toMatchObject({ ok: false, detail: 'timed out after 300 ms' });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
    expect(performance.now() - t0).toBeLessThan(1500);
  });

  it('stops when the signal aborts', async () => {
    const ac = new AbortController();
    onRequest.push(() => ac.abort());
    const r = await probeHttp(spec('/hang'), 5000, ac.signal);
    expect(r).toMatchObject({ ok: false, detail: 'aborted' });
    expect(r.durationMs).toBeLessThan(4000);
  });

  it('rejects a URL it cannot use without throwing', async () => {
    expect((await probeHttp({ type: 'http', url: 'not a url', expectedStatus: [200] }, 100)).detail).toMatch(/^invalid URL/);
    expect((await probeHttp({ type: 'http', url: 'ftp://x/', expectedStatus: [200] }, 100)).detail).toBe('unsupported URL scheme ftp:');
  });
});
