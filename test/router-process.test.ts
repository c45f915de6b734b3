// The built router (dist/router.js) as its own process, driven over its control socket.
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { AppTraffic, RouterApp } from '../src/runtime/model.js';
import { freePort, get, waitFor } from './support/net.js';
import { useRouterProcess } from './support/router-process.js';

const env = useRouterProcess();
const { servers } = env;

const ctl = (method: string, path: string, body?: unknown) => env.rp.ctl(method, path, body);
const startRouter = (extra: string[] = []) => env.rp.start(extra);

async function backend(handler: (url: string, end: (body: string) => void) => void): Promise<number> {
  const s = createServer((req, res) => handler(req.url ?? '/', (body) => res.end(body)));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

/** One GET through the router with these headers: the body. */
const getWith = async (port: number, headers: Record<string, string>): Promise<string> => (await get(port, '/', 5000, headers)).body;

function app(port: number, targetPort: number): RouterApp {
  return {
    name: 'shop',
    listen: { host: '127.0.0.1', port },
    hostnames: [],
    pools: [{ name: 'blue', weight: 100, targets: [{ id: 'blue-0', host: '127.0.0.1', port: targetPort }] }],
    health: { path: '/health', intervalMs: 50, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
    stickyCookie: null,
    drainTimeoutMs: 2000,
    unavailableWaitMs: 2000,
  };
}

describe('router process', () => {
  it('is configured over the control socket and answers errors with 400, 404 and 409', async () => {
    await startRouter();
    const target = await backend((url, end) => end(url === '/health' ? 'ok' : 'blue'));
    const port = await freePort();

    expect(await ctl('PUT', '/apps/shop', '{not json')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^body: not JSON/) } });
    expect(await ctl('PUT', '/apps/shop', { name: 'shop' })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/listen: /) } });
    expect(await ctl('PUT', '/apps/other', app(port, target))).toMatchObject({ status: 400, body: { error: expect.stringMatching(/does not match/) } });
    expect(await ctl('POST', '/apps/nope/weights', { weights: { blue: 1 } })).toMatchObject({ status: 404, body: { error: 'router: no app nope' } });
    expect(await ctl('GET', '/nowhere')).toMatchObject({ status: 404, body: { error: 'no such route: GET /nowhere' } });

    expect(await ctl('PUT', '/apps/shop', app(port, target))).toMatchObject({ status: 200, body: { ok: true } });
    expect(await ctl('GET', '/apps/shop/targets/blue-0/wait-healthy?timeoutMs=5000')).toMatchObject({ status: 200, body: { healthy: true, state: 'healthy', lastError: null } });
    expect((await get(port, '/')).body).toBe('blue');

    expect(await ctl('POST', '/apps/shop/targets/ghost/drain', {})).toMatchObject({ status: 404, body: { error: 'router: app shop has no target ghost' } });
    expect(await ctl('POST', '/apps/shop/weights', { weights: { blue: -1 } })).toMatchObject({ status: 400 });
    expect(await ctl('POST', '/apps/shop/weights', { weights: { green: 1 } })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/no pool green/) } });
    expect(await ctl('GET', '/apps/shop/targets/blue-0/wait-healthy?timeoutMs=soon')).toMatchObject({ status: 400 });

    // a listen conflict leaves the app as it was
    const busy = await backend((_u, end) => end('busy'));
    const before = (await ctl('GET', '/state')).body;
    expect(await ctl('PUT', '/apps/shop', app(busy, target))).toEqual({ status: 409, body: { error: `router.listen: 127.0.0.1:${busy} is already in use by another program` }, text: expect.any(String) });
    expect((await ctl('GET', '/state')).body).toEqual(before);
    expect((await get(port, '/')).body).toBe('blue');

    // target operations
    expect(await ctl('POST', '/apps/shop/targets/blue-0/drain', { timeoutMs: 1000 })).toMatchObject({ status: 200, body: { drained: true, inFlight: 0 } });
    expect((await ctl('GET', '/state')).body).toMatchObject({ apps: [{ pools: [{ targets: [{ id: 'blue-0', state: 'draining' }] }] }] });
    expect(await ctl('POST', '/apps/shop/targets/blue-0/enable', { healthy: true })).toMatchObject({ status: 200 });
    expect(await ctl('POST', '/apps/shop/targets/blue-0/down')).toMatchObject({ status: 200 });
    expect((await ctl('GET', '/state')).body).toMatchObject({ apps: [{ pools: [{ targets: [{ state: 'unhealthy' }] }] }] });
    // the checks bring it back
    expect(await ctl('GET', '/apps/shop/targets/blue-0/wait-healthy?timeoutMs=5000')).toMatchObject({ body: { healthy: true } });

    expect(await ctl('DELETE', '/apps/shop')).toMatchObject({ status: 200 });
    expect(await ctl('DELETE', '/apps/shop')).toMatchObject({ status: 404 });
    expect(env.rp.stderr).toMatch(/"event":"router.start"/);
  });

  it('serves metrics as JSON and Prometheus text, also on the admin listener', async () => {
    const metricsPort = await freePort();
    await startRouter(['--metrics-listen', `127.0.0.1:${metricsPort}`]);
    const target = await backend((url, end) => end(url === '/health' ? 'ok' : 'blue'));
    const port = await freePort();
    await ctl('PUT', '/apps/shop', app(port, target));
    await ctl('GET', '/apps/shop/targets/blue-0/wait-healthy?timeoutMs=5000');
    for (let i = 0; i < 3; i++) expect((await get(port, '/')).status).toBe(200);

    const json = await ctl('GET', '/metrics');
    expect(json.body).toMatchObject({ apps: [{ app: 'shop', pools: { blue: { requests: { '2xx': 3 }, targets: { 'blue-0': { requests: { '2xx': 3 } } } } } }] });
    const prom = await ctl('GET', '/metrics?format=prometheus');
    expect(prom.text).toContain('deployer_router_requests_total{app="shop",pool="blue",target="blue-0",release="",class="2xx"} 3');
    const scraped = await get(metricsPort, '/metrics');
    expect(scraped.body).toContain('deployer_router_requests_total{app="shop",pool="blue",target="blue-0",release="",class="2xx"} 3');

    // PUT /settings moves (or closes) the admin listener
    const other = await freePort();
    expect(await ctl('PUT', '/settings', { metricsListen: `127.0.0.1:${other}` })).toMatchObject({ status: 200 });
    expect((await get(other, '/metrics')).body).toContain('deployer_router_pool_weight{app="shop",pool="blue"} 100');
    await waitFor(async () => ((await get(metricsPort, '/metrics').catch((e: NodeJS.ErrnoException) => e.code)) === 'ECONNREFUSED' ? true : undefined), 'the old admin listener to close');
    expect(await ctl('PUT', '/settings', { metricsListen: 'nonsense' })).toMatchObject({ status: 400 });
    expect(await ctl('PUT', '/settings', { metricsListen: null })).toMatchObject({ status: 200 });
  });

  it("serves an app's traffic and takes header routes (validated) over the control socket", async () => {
    await startRouter();
    const blue = await backend((url, end) => end(url === '/health' ? 'ok' : 'blue'));
    const green = await backend((url, end) => end(url === '/health' ? 'ok' : 'green'));
    const port = await freePort();
    const base = app(port, blue);
    const twoPools: RouterApp = { ...base, pools: [...base.pools, { name: 'green', weight: 0, targets: [{ id: 'green-0', host: '127.0.0.1', port: green, release: 'r2' }] }] };
    expect(await ctl('PUT', '/apps/shop', { ...twoPools, routes: [{ header: 'x canary', pool: 'green' }] })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^routes\.0\.header: must be a header name/) } });
    expect(await ctl('PUT', '/apps/shop', { ...twoPools, routes: [{ header: 'x-a', cookie: 'b', pool: 'green' }] })).toMatchObject({ status: 400, body: { error: 'routes.0: give exactly one of header and cookie' } });
    expect(await ctl('PUT', '/apps/shop', { ...twoPools, routes: [{ header: 'Connection', pool: 'green' }] })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^routes\.0\.header: is not forwarded/) } });
    expect(await ctl('GET', '/apps/shop/traffic')).toMatchObject({ status: 404, body: { error: 'router: no app shop' } });
    // an upper-case header name is taken lower-cased
    expect(await ctl('PUT', '/apps/shop', { ...twoPools, routes: [{ header: 'X-Canary', value: 'on', pool: 'green' }] })).toMatchObject({ status: 200 });
    for (const id of ['blue-0', 'green-0']) await ctl('GET', `/apps/shop/targets/${id}/wait-healthy?timeoutMs=5000`);
    const answers: string[] = [];
    const variants: Record<string, string>[] = [{}, { 'x-canary': 'on' }, { 'x-canary': 'off' }, { 'X-CANARY': 'on' }];
    for (const headers of variants) answers.push(await getWith(port, headers));
    expect(answers).toEqual(['blue', 'green', 'blue', 'green']);

    const traffic = await ctl('GET', '/apps/shop/traffic');
    expect(traffic.status).toBe(200);
    const body = traffic.body as AppTraffic;
    expect(body.app).toBe('shop');
    expect(body.pools.blue).toMatchObject({ requests: { '2xx': 2 }, latency: { count: 2 }, samples: { seq: 2 } });
    expect(body.pools.green).toMatchObject({ requests: { '2xx': 2 }, latency: { count: 2 }, samples: { seq: 2 } });
    expect(body.pools.green!.samples.latencyMs).toHaveLength(2);
    expect(body.pools.green!.samples.latencyMs.reduce((a, b) => a + b, 0)).toBe(body.pools.green!.latency.sumMs);
    // the target's release labels its series
    expect((await ctl('GET', '/metrics?format=prometheus')).text).toContain('deployer_router_requests_total{app="shop",pool="green",target="green-0",release="r2",class="2xx"} 2');
  });

  it('on SIGTERM stops accepting, finishes the in-flight request and exits 0', async () => {
    const p = await startRouter();
    let release: (() => void) | null = null;
    const target = await backend((url, end) => {
      if (url === '/slow') release = () => end('slow done');
      else end('ok');
    });
    const port = await freePort();
    await ctl('PUT', '/apps/shop', app(port, target));
    await ctl('GET', '/apps/shop/targets/blue-0/wait-healthy?timeoutMs=5000');
    const slow = get(port, '/slow', 10_000);
    await waitFor(() => (release ? true : undefined), 'the slow request to reach the backend');
    const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
    p.kill('SIGTERM');
    await waitFor(async () => ((await get(port, '/').catch((e: NodeJS.ErrnoException) => e.code)) === 'ECONNREFUSED' ? true : undefined), 'the listener to stop accepting');
    release!();
    expect(await slow).toEqual({ status: 200, body: 'slow done' });
    expect(await exited).toBe(0);
    expect(existsSync(env.rp.sock)).toBe(false);
    expect(env.rp.stderr).toMatch(/"event":"router.stopped"/);
  });
});
