// The router in-process (RouterCore) against real node:http backends on loopback: targets coming
// and going (drain, death under load, retries, health checks, waiting for a target, WebSocket upgrades).
import { once } from 'node:events';
import { request, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RouterCore } from '../src/runtime/router/core.js';
import { freePort, waitFor } from './support/net.js';
import { backend, core, hit, load, spec, targetOf, useRouterCleanup } from './support/router-harness.js';

useRouterCleanup();

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
