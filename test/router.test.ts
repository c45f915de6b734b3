// The router in-process (RouterCore) against real node:http backends on loopback: proxying,
// config and metrics. Weights: router-weights.test.ts; targets coming and going: router-targets.test.ts.
import { createHash } from 'node:crypto';
import { createServer as createNetServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { freePort, waitFor } from './support/net.js';
import { backend, core, hit, spec, useRouterCleanup } from './support/router-harness.js';

useRouterCleanup();

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
    // the client is no trusted proxy: its X-Forwarded-For is replaced
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('shop.test:1234');
    expect(seen.headers['x-custom']).toBe('yes');
    expect(seen.headers['x-private']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(r.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(r.headers['content-type']).toBe('application/json');
    // the backend's Keep-Alive header is not passed on (the router's own keep-alive applies)
    expect(r.headers['keep-alive']).not.toBe('timeout=5');
    // from a trusted proxy it is appended to
    await c.upsertApp(spec('shop', port, [['blue', 100, [b]]], { trustedProxies: ['127.0.0.1'] }));
    const trusted = await hit(port, '/headers', { headers: { host: 'shop.test', 'x-forwarded-for': '203.0.113.5' } });
    expect((JSON.parse(trusted.text) as { headers: Record<string, string> }).headers['x-forwarded-for']).toBe('203.0.113.5, 127.0.0.1');
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
