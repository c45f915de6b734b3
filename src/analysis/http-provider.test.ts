import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureHttp, numericValue } from './http-provider.js';
import { httpServer, metricConfig, sendJson, type TestServer } from './test-support.js';

const vars = { app: 'shop', pool: 'canary', release: 'r1', intervalMs: 10_000 };

let server: TestServer;
beforeAll(async () => {
  server = await httpServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    switch (url.pathname) {
      case '/stats':
        return sendJson(res, 200, { pools: { [url.searchParams.get('pool') ?? '']: { p99: 12.5, errors: '0.25', name: 'x', bad: 'n/a' } }, auth: req.headers.authorization ?? null });
      case '/broken':
        return sendJson(res, 503, 'overloaded, try later\n');
      case '/html':
        res.setHeader('content-type', 'text/html');
        return res.end('<html>hello</html>');
      case '/huge':
        return sendJson(res, 200, { pad: 'x'.repeat(5 * 1024 * 1024) });
      case '/hang':
        return; // never answers
      default:
        return sendJson(res, 404, { error: 'not found' });
    }
  });
});
afterAll(() => server.close());

const metric = (path: string, url = `${server.url}/stats?pool={{pool}}&window={{interval}}`, extra: Record<string, unknown> = {}) => metricConfig({ name: 'custom', provider: 'http', url, path, max: 1, ...extra });

describe('http provider', () => {
  it('GETs the templated URL with its headers and reads a number (or a numeric string) at the path', async () => {
    const m = metric('pools.canary.p99', undefined, { headers: { authorization: 'Bearer {{app}}-token' } });
    expect(await measureHttp(m, vars, fetch)).toEqual({ ok: true, value: 12.5 });
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', url: '/stats?pool=canary&window=10s' });
    expect(server.requests.at(-1)!.headers.authorization).toBe('Bearer shop-token');
    expect(await measureHttp(metric('pools.canary.errors'), vars, fetch)).toEqual({ ok: true, value: 0.25 });
  });

  it('names what it found when it is not a number, or the path does not lead anywhere', async () => {
    expect(await measureHttp(metric('pools.canary.bad'), vars, fetch)).toEqual({ ok: false, reason: `GET ${server.url}/stats: pools.canary.bad is a string "n/a", not a number` });
    expect(await measureHttp(metric('pools.canary'), vars, fetch)).toMatchObject({ ok: false, reason: expect.stringContaining('pools.canary is an object with keys p99, errors, name, bad, not a number') });
    expect(await measureHttp(metric('auth'), vars, fetch)).toMatchObject({ ok: false, reason: expect.stringContaining('auth is null, not a number') });
    expect(await measureHttp(metric('pools.stable.p99'), vars, fetch)).toMatchObject({ ok: false, reason: expect.stringContaining('pools has no key "stable"') });
  });

  it('reports HTTP errors, bodies that are not JSON, refused connections and timeouts (the query string left out)', async () => {
    expect(await measureHttp(metric('x', `${server.url}/broken?token=secret`), vars, fetch)).toEqual({ ok: false, reason: `GET ${server.url}/broken: HTTP 503: overloaded, try later` });
    expect(await measureHttp(metric('x', `${server.url}/html`), vars, fetch)).toEqual({ ok: false, reason: `GET ${server.url}/html: HTTP 200 but the body is not JSON: <html>hello</html>` });
    expect(await measureHttp(metric('x', `${server.url}/huge`), vars, fetch)).toMatchObject({ ok: false, reason: expect.stringMatching(/HTTP 200 with a body (of \d+ bytes: over 1 MiB \(1048576 bytes\), refused unread|over 1 MiB \(1048576 bytes\): refused, the rest not read)$/) });
    const closed = await httpServer(() => {});
    await closed.close();
    expect(await measureHttp(metric('x', `${closed.url}/stats`), vars, fetch)).toMatchObject({ ok: false, reason: expect.stringMatching(/ECONNREFUSED/) });
    const started = Date.now();
    expect(await measureHttp(metric('x', `${server.url}/hang`, { timeout: '300ms' }), vars, fetch)).toEqual({ ok: false, reason: `GET ${server.url}/hang: timed out after 300 ms` });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('takes finite numbers and numeric strings only', () => {
    expect([numericValue(3), numericValue(' 4.5 '), numericValue('1e3'), numericValue(''), numericValue('abc'), numericValue(Infinity), numericValue(true), numericValue(null)]).toEqual([3, 4.5, 1000, null, null, null, null, null]);
  });
});
