// The HAProxy router adapter against a real HAProxy (one per file): weights through the runtime
// API, a canary split that survives a soft reload, drain of an in-flight request, per-pool counts,
// state recovered by a new process from config_file, and the errors that name the manifest key.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouterError } from '../src/errors.js';
import { LocalTransport } from '../src/hosts/local.js';
import { HaproxyRouter } from '../src/routers/haproxy.js';
import { SocketApi } from '../src/routers/haproxy-api.js';
import { parseServersState } from '../src/routers/haproxy-stat.js';
import type { PoolTargets } from '../src/routers/types.js';
import { systemClock } from '../src/util/clock.js';
import { HaproxyServer, skipWithoutHaproxy } from './support/haproxy-server.js';
import { describeLoad, expectCleanDuring, underLoad } from './support/load.js';
import { freePort, get, waitFor } from './support/net.js';

const skip = skipWithoutHaproxy('test/router-haproxy.test.ts');

interface Backend {
  name: string;
  port: number;
  server: Server;
  inFlight: number;
}

/** An app instance that answers its name (or `status`); /slow?ms=N answers after N ms. */
async function backend(name: string, status = 200): Promise<Backend> {
  const b: Backend = { name, port: 0, server: createServer(), inFlight: 0 };
  b.server.on('request', (req, res) => {
    b.inFlight++;
    const ms = Number(/[?&]ms=(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    setTimeout(() => {
      b.inFlight--;
      res.writeHead(status, { 'content-type': 'text/plain' }).end(name);
    }, ms);
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', r));
  b.port = (b.server.address() as { port: number }).port;
  return b;
}

describe.skipIf(skip)('HAProxy router', () => {
  let dir: string;
  let hx: HaproxyServer;
  const backends = new Map<string, Backend>();
  const transport = new LocalTransport();
  const router = () => new HaproxyRouter({ admin_socket: hx.socket, backend: 'shop', config_file: hx.configFile }, { transport, app: 'shop', clock: systemClock });
  const pool = (name: string, n: number): PoolTargets => ({
    name,
    targets: Array.from({ length: n }, (_, i) => ({ id: `${name}-${i}`, host: '127.0.0.1', port: backends.get(`${name}-${i}`)!.port, release: name })),
  });
  /** `n` requests one after another through HAProxy: answers by body. */
  async function split(n: number): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await get(hx.port, '/');
      const k = r.status === 200 ? r.body : `HTTP ${r.status}`;
      seen[k] = (seen[k] ?? 0) + 1;
    }
    return seen;
  }
  /** Makes the backend hold exactly these pools (the ones declared before are removed). */
  async function only(r: HaproxyRouter, pools: PoolTargets[], weights: Record<string, number>): Promise<void> {
    const live = await r.live();
    const gone = (live?.pools ?? []).filter((p) => !pools.some((q) => q.name === p.name)).map((p) => ({ name: p.name, targets: [] }));
    await r.declarePools(pools);
    await r.setWeights(weights);
    await r.declarePools(gone);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'haproxy-'));
    for (const n of ['blue-0', 'blue-1', 'green-0', 'stable-0', 'stable-1', 'canary-0', 'solo-0', 'ok-0']) backends.set(n, await backend(n));
    backends.set('bad-0', await backend('bad-0', 500));
    hx = new HaproxyServer(dir, await freePort(), 'shop');
    await hx.start();
  });

  afterAll(async () => {
    await hx?.stop();
    for (const b of backends.values()) b.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('switches all traffic from blue to green through the runtime API', async () => {
    const r = router();
    await only(r, [pool('blue', 2), pool('green', 1)], { blue: 100 });
    expect(Object.keys(await split(20)).sort()).toEqual(['blue-0', 'blue-1']);
    await r.setWeights({ green: 100 });
    await waitFor(async () => ((await get(hx.port, '/')).body === 'green-0' ? true : undefined), 'a first answer from green', 5000, 10);
    expect(await split(20)).toEqual({ 'green-0': 20 });
    const live = await r.live();
    expect(live?.pools.map((p) => [p.name, p.weight])).toEqual([
      ['blue', 0],
      ['green', 100],
    ]);
    expect(live?.where).toBe(`haproxy backend shop (${hx.socket})`);
  });

  it('switches blue -> green -> blue under load with no failed request', async () => {
    const r = router();
    await only(r, [pool('blue', 2), pool('green', 1)], { blue: 100 });
    const u = await underLoad({ port: hx.port, connections: 4, pauseMs: 2, maxDurationMs: 3000, maxRequests: 20_000, warmup: 50, minTotal: 300 }, async () => {
      await r.setWeights({ green: 100 });
      await waitFor(async () => ((await get(hx.port, '/')).body === 'green-0' ? true : undefined), 'green', 2000, 10);
      await r.setWeights({ blue: 100 });
    });
    expectCleanDuring(u, 1);
    expect(u.report.versions['green-0'] ?? 0, describeLoad(u.report)).toBeGreaterThan(0);
  });

  it('splits 5% to a canary, and a soft reload keeps the split and keeps a drained server out', async () => {
    const r = router();
    await only(r, [pool('stable', 2)], { stable: 100 });
    await r.declarePools([pool('canary', 1)]);
    await r.setWeights({ stable: 95, canary: 5 });
    const before = await split(400);
    expect(before['canary-0'] ?? 0, JSON.stringify(before)).toBeGreaterThanOrEqual(8);
    expect(before['canary-0'] ?? 0, JSON.stringify(before)).toBeLessThanOrEqual(40);
    await r.drain('stable-1', 5000);
    expect(await split(40)).not.toHaveProperty('stable-1');

    await hx.reload();
    const live = await router().live();
    expect(live?.pools.map((p) => [p.name, p.weight])).toEqual([
      ['stable', 95],
      ['canary', 5],
    ]);
    const after = await split(400);
    expect(after, 'the drained server is back in rotation').not.toHaveProperty('stable-1');
    expect(after['canary-0'] ?? 0, JSON.stringify(after)).toBeGreaterThanOrEqual(8);
    expect(after['canary-0'] ?? 0, JSON.stringify(after)).toBeLessThanOrEqual(40);
    await router().enable('stable-1');
    expect(Object.keys(await split(60)).sort()).toEqual(['canary-0', 'stable-0', 'stable-1']);
  });

  it('drain resolves once an in-flight slow request completed, and that request succeeds', async () => {
    const r = router();
    await only(r, [pool('solo', 1)], { solo: 100 });
    const slow = get(hx.port, '/slow?ms=1200', 10_000);
    await waitFor(() => (backends.get('solo-0')!.inFlight > 0 ? true : undefined), 'the slow request at solo-0', 5000, 10);
    const t0 = performance.now();
    await r.drain('solo-0', 10_000);
    const waited = performance.now() - t0;
    expect(backends.get('solo-0')!.inFlight).toBe(0);
    expect(await slow).toEqual({ status: 200, body: 'solo-0' });
    expect(waited).toBeGreaterThan(500);
    expect(waited).toBeLessThan(8000);
    expect((await r.live())?.pools[0]?.targets[0]?.state).toBe('draining');
    await r.enable('solo-0');
    expect((await get(hx.port, '/')).body).toBe('solo-0');
  });

  it('counts 2xx and 5xx per pool from show stat', async () => {
    const r = router();
    await only(r, [pool('ok', 1), pool('bad', 1)], { ok: 50, bad: 50 });
    const t0 = await r.traffic();
    const seen = await split(40);
    expect(seen).toEqual({ 'ok-0': 20, 'HTTP 500': 20 });
    const t1 = await r.traffic();
    expect(t1.ok!.requests['2xx'] - (t0.ok?.requests['2xx'] ?? 0)).toBe(20);
    expect(t1.bad!.requests['5xx'] - (t0.bad?.requests['5xx'] ?? 0)).toBe(20);
    expect(t1.bad!.requests['2xx']).toBe(0);
    expect(t1.ok!.latency.count).toBe(0);
  });

  it('a new router instance (a new process) recovers the pools and weights from config_file', async () => {
    await only(router(), [pool('blue', 2), pool('green', 1)], { blue: 25, green: 75 });
    const fresh = router();
    const live = await fresh.live();
    expect(live?.pools.map((p) => [p.name, p.weight, p.targets.map((t) => `${t.id}:${t.state}`)])).toEqual([
      ['blue', 25, ['blue-0:ready', 'blue-1:ready']],
      ['green', 75, ['green-0:ready']],
    ]);
    await fresh.setWeights({ green: 100 });
    expect(await split(10)).toEqual({ 'green-0': 10 });
    // the pools the earlier tests declared and removed are gone from HAProxy itself (del server)
    const servers = parseServersState(await new SocketApi(hx.socket).run('show servers state shop'));
    expect(servers?.map((s) => `${s.name}:${s.uweight}`)).toEqual(expect.arrayContaining(['blue-0:0', 'blue-1:0', 'green-0:1']));
    expect(servers).toHaveLength(3);
  });

  it('the runtime API client speaks to the socket directly; a socket below level admin names router.haproxy.admin_socket', async () => {
    expect(await new SocketApi(hx.socket).run('show backend')).toContain('shop');
    const r = new HaproxyRouter({ admin_socket: hx.userSocket, backend: 'shop', config_file: hx.configFile }, { transport, app: 'shop', clock: systemClock });
    const e = await r.setWeights({ blue: 100 }).catch((x: unknown) => x);
    expect((e as RouterError).message).toMatch(/^router\.haproxy\.admin_socket: HAProxy refused an admin command/);
    expect((e as RouterError).hint).toContain(`stats socket ${hx.userSocket} level admin`);
    await router().setWeights({ blue: 100 });
  });

  it('an admin socket nobody listens on is an error naming router.haproxy.admin_socket', async () => {
    const r = new HaproxyRouter({ admin_socket: join(dir, 'none.sock'), config_file: join(dir, 'other', 'x.cfg') }, { transport, app: 'shop', clock: systemClock });
    const e = await r.declarePools([pool('blue', 1)]).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RouterError);
    expect((e as RouterError).message).toMatch(/^router\.haproxy\.admin_socket: /);
    expect((e as RouterError).hint).toContain('level admin');
  });

  it('a backend HAProxy does not know is an error naming router.haproxy.backend, saying to add -f', async () => {
    const file = join(dir, 'other', 'nope.cfg');
    const r = new HaproxyRouter({ admin_socket: hx.socket, backend: 'nope', config_file: file }, { transport, app: 'shop', clock: systemClock });
    const e = await r.declarePools([pool('blue', 1)]).catch((x: unknown) => x);
    expect((e as RouterError).message).toMatch(/^router\.haproxy\.backend: .*no backend nope/);
    expect((e as RouterError).hint).toContain(`-f ${file}`);
  });

  it('with reload_command, a backend only in config_file is loaded by a reload, then served', async () => {
    // last: the reload it runs loads one more file than hx.reload() would
    const file = join(dir, 'deployer', 'extra.cfg');
    const cmd = `${[...hx.argv([]), '-f', file].map((a) => `'${a}'`).join(' ')} -sf $(cat '${hx.pidFile}')`;
    const r = new HaproxyRouter({ admin_socket: hx.socket, backend: 'extra', config_file: file, reload_command: cmd }, { transport, app: 'extra', clock: systemClock });
    await r.declarePools([pool('ok', 1)]);
    await r.setWeights({ ok: 100 });
    const live = await r.live();
    expect(live?.pools.map((p) => [p.name, p.weight, p.targets.map((t) => t.state)])).toEqual([['ok', 100, ['ready']]]);
  });
});
