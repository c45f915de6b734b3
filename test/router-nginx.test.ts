// The nginx router adapter against a real nginx (Debian package nginx-light) with real loopback
// backends: weights switch and split traffic, header routes, drain waits for in-flight requests,
// a configuration nginx refuses leaves the previous file and version serving, the access log
// gives per-pool counts, a new process recovers the state from the file, and a switch under load
// fails no request.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RouterError } from '../src/errors.js';
import { LocalTransport } from '../src/hosts/local.js';
import { NginxRouter, type NginxRouterConfig } from '../src/routers/nginx.js';
import type { PoolTargets } from '../src/routers/types.js';
import { systemClock } from '../src/util/clock.js';
import { startLoad, describeLoad } from './support/load.js';
import { freePort, get, waitFor } from './support/net.js';
import { NGINX, NGINX_MISSING, NginxServer, nameBackend, skipWithoutNginx, type NameBackend } from './support/nginx-server.js';

const skip = skipWithoutNginx('test/router-nginx.test.ts');

describe.skipIf(skip)('nginx router against a real nginx', { timeout: 60_000 }, () => {
  let dir: string;
  let nginx: NginxServer;
  const backends: Record<string, NameBackend> = {};
  let cfg: NginxRouterConfig;
  let router: NginxRouter;
  const deps = { transport: new LocalTransport(), app: 'shop', clock: systemClock };

  const target = (name: string) => ({ id: name, host: '127.0.0.1', port: backends[name]!.port });
  const pools = (o: Record<string, string[]>): PoolTargets[] => Object.entries(o).map(([name, ids]) => ({ name, targets: ids.map(target) }));
  const ask = async (path = '/', headers: Record<string, string> = {}) => {
    const r = await get(nginx.port, path, 10_000, headers);
    return r.status === 200 ? r.body : `${r.status} ${r.body.slice(0, 80)}`;
  };
  const askMany = async (n: number, headers: Record<string, string> = {}) => {
    const out: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const b = await ask('/', headers);
      out[b] = (out[b] ?? 0) + 1;
    }
    return out;
  };

  beforeAll(async () => {
    if (!NGINX) throw new Error(`${NGINX_MISSING}; CI=true, so this fails instead of skipping`);
    dir = mkdtempSync(join(tmpdir(), 'deployer-nginx-'));
    for (const name of ['blue-0', 'blue-1', 'green-0']) backends[name] = await nameBackend(name);
    nginx = NginxServer.start(dir, await freePort());
    cfg = { config_file: nginx.configFile, upstream: 'shop', test_command: nginx.testCommand, reload_command: nginx.reloadCommand, access_log: nginx.accessLog };
    router = new NginxRouter(cfg, deps);
    // nothing declared yet: nginx answers 502 at once (a placeholder server, down)
    await waitFor(async () => ((await get(nginx.port, '/')).status === 502 ? true : undefined), `nginx on ${nginx.port}: ${nginx.log}`);
  });

  afterAll(async () => {
    await nginx?.stop();
    for (const b of Object.values(backends)) await b.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('switches all traffic from blue to green with weights, verified when setWeights resolves', async () => {
    await router.declarePools(pools({ blue: ['blue-0'], green: ['green-0'] }));
    await router.setWeights({ blue: 100, green: 0 });
    expect(await askMany(20)).toEqual({ 'blue-0': 20 });
    await router.setWeights({ blue: 0, green: 100 });
    // the reload was confirmed (old worker no longer accepting): the very first answer is green already
    await waitFor(async () => ((await ask()) === 'green-0' ? true : undefined), 'a first answer from green');
    expect(await askMany(50)).toEqual({ 'green-0': 50 });
    expect(readFileSync(nginx.configFile, 'utf8')).toContain(`server 127.0.0.1:${backends['blue-0']!.port} down;  # blue blue-0`);
  });

  it('splits 5% to a canary (1:19)', async () => {
    await router.setWeights({ blue: 95, green: 5 });
    const seen = await askMany(400);
    expect((seen['blue-0'] ?? 0) + (seen['green-0'] ?? 0), JSON.stringify(seen)).toBe(400);
    expect(seen['green-0'] ?? 0, JSON.stringify(seen)).toBeGreaterThanOrEqual(8);
    expect(seen['green-0'] ?? 0, JSON.stringify(seen)).toBeLessThanOrEqual(40);
  });

  it('sends requests with a header, or a cookie with a value, to the canary whatever the weights', async () => {
    await router.setWeights({ blue: 100, green: 0 });
    await router.setRoutes([{ header: 'x-canary', pool: 'green' }, { cookie: 'ab', value: 'b"x', pool: 'green' }]);
    expect(await askMany(10, { 'x-canary': '1' })).toEqual({ 'green-0': 10 });
    expect(await askMany(10, { cookie: 'ab=b"x' })).toEqual({ 'green-0': 10 });
    expect(await askMany(10, { cookie: 'ab=a' })).toEqual({ 'blue-0': 10 });
    expect(await askMany(10)).toEqual({ 'blue-0': 10 });
    await router.setRoutes([]);
    expect(await askMany(10, { 'x-canary': '1' })).toEqual({ 'blue-0': 10 });
  });

  it('drains a target: resolves after its in-flight request completed, and sends it nothing new', async () => {
    // blue-1 joins a pool with traffic: out of rotation until enabled
    await router.declarePools(pools({ blue: ['blue-0', 'blue-1'] }));
    expect((await router.live())!.pools.find((p) => p.name === 'blue')!.targets.map((t) => t.state)).toEqual(['ready', 'down']);
    expect(await askMany(10)).toEqual({ 'blue-0': 10 });
    // a slow request in flight on blue-0
    let slowAt = 0;
    const slow = get(nginx.port, '/slow?ms=1500', 10_000).then((r) => ((slowAt = performance.now()), r));
    await waitFor(() => (backends['blue-0']!.inFlight() > 0 ? true : undefined), 'the slow request at blue-0');
    await router.enable('blue-1');
    const t0 = performance.now();
    await router.drain('blue-0', 20_000);
    const drainedAt = performance.now();
    expect(await slow).toEqual({ status: 200, body: 'blue-0' });
    expect(drainedAt, `drain took ${Math.round(drainedAt - t0)} ms`).toBeGreaterThanOrEqual(slowAt - 50);
    expect(await askMany(20)).toEqual({ 'blue-1': 20 });
    const live = await router.live();
    expect(live!.pools.find((p) => p.name === 'blue')!.targets.map((t) => [t.id, t.state])).toEqual([
      ['blue-0', 'down'],
      ['blue-1', 'ready'],
    ]);
    await router.enable('blue-0');
    const back = await askMany(20);
    expect(Object.keys(back).sort()).toEqual(['blue-0', 'blue-1']);
  });

  it('gives up waiting for a drain at its timeout', async () => {
    const slow = get(nginx.port, '/slow?ms=3000', 10_000);
    await waitFor(() => (backends['blue-0']!.inFlight() + backends['blue-1']!.inFlight() > 0 ? true : undefined), 'the slow request at blue');
    const t0 = performance.now();
    await router.drain('blue-0', 300);
    await router.drain('blue-1', 300);
    expect(performance.now() - t0).toBeLessThan(2500);
    await router.enable('blue-0');
    await router.enable('blue-1');
    expect((await slow).status).toBe(200);
  });

  it('leaves the previous file in place and nginx serving the old version when nginx refuses the new one', async () => {
    const before = readFileSync(nginx.configFile);
    const refusing = new NginxRouter({ ...cfg, test_command: nginx.brokenTestCommand }, deps);
    const err = await refusing.setWeights({ blue: 0, green: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RouterError);
    expect((err as Error).message).toMatch(/^router\.nginx\.test_command: nginx refused the new configuration \(.*\): exit 1: nginx: \[emerg\] duplicate .*broken\.conf test failed/s);
    expect(readFileSync(nginx.configFile).equals(before)).toBe(true);
    expect(Object.keys(await askMany(10)).sort()).toEqual(['blue-0', 'blue-1']);

    const failing = new NginxRouter({ ...cfg, reload_command: 'echo "cannot signal nginx" >&2; exit 3' }, deps);
    const err2 = await failing.setWeights({ blue: 0, green: 100 }).catch((e: unknown) => e);
    expect((err2 as Error).message).toMatch(/^router\.nginx\.reload_command: failed .*exit 3: cannot signal nginx/s);
    expect(readFileSync(nginx.configFile).equals(before)).toBe(true);
    expect(Object.keys(await askMany(10)).sort()).toEqual(['blue-0', 'blue-1']);
  });

  it('counts requests per pool from the access log: 2xx, 5xx from the app, latencies', async () => {
    await router.setWeights({ blue: 0, green: 100 });
    const base = await router.traffic();
    for (let i = 0; i < 15; i++) await get(nginx.port, '/');
    for (let i = 0; i < 5; i++) await get(nginx.port, '/fail');
    const now = await waitFor(async () => {
      const t = await router.traffic();
      return t.green!.requests['2xx'] - (base.green?.requests['2xx'] ?? 0) >= 15 && t.green!.requests['5xx'] - (base.green?.requests['5xx'] ?? 0) >= 5 ? t : undefined;
    }, 'the access log to show 20 requests to green');
    expect(now.green!.requests['2xx'] - (base.green?.requests['2xx'] ?? 0)).toBe(15);
    expect(now.green!.requests['5xx'] - (base.green?.requests['5xx'] ?? 0)).toBe(5);
    expect(now.green!.requests.errors).toBe(0);
    expect(now.green!.latency.count - (base.green?.latency.count ?? 0)).toBe(20);
    expect(now.green!.samples.latencyMs.length).toBeGreaterThanOrEqual(20);
    expect(now.blue!.requests['2xx'] - (base.blue?.requests['2xx'] ?? 0)).toBe(0);
  });

  it("counts nginx's own 502 (no target answering) as an error of the pool", async () => {
    const gone = await nameBackend('gone-0');
    backends['gone-0'] = gone;
    await router.declarePools(pools({ gone: ['gone-0'] }));
    await router.setRoutes([{ header: 'x-gone', pool: 'gone' }]);
    await gone.close();
    const base = await router.traffic();
    expect((await get(nginx.port, '/', 5000, { 'x-gone': '1' })).status).toBe(502);
    const t = await waitFor(async () => {
      const x = await router.traffic();
      return x.gone!.requests.errors > (base.gone?.requests.errors ?? 0) ? x : undefined;
    }, 'the 502 in the access log');
    expect(t.gone!.requests['5xx']).toBe(base.gone?.requests['5xx'] ?? 0);
    await router.setRoutes([]);
    await router.declarePools([{ name: 'gone', targets: [] }]);
    delete backends['gone-0'];
  });

  it('recovers its state from the file in a new process (a new instance)', async () => {
    const again = new NginxRouter(cfg, deps);
    const live = await again.live();
    expect(live).toEqual(await router.live());
    expect(live!.where).toBe(`nginx upstream shop (${nginx.configFile})`);
    expect(live!.pools.map((p) => [p.name, p.weight])).toEqual([
      ['blue', 0],
      ['green', 100],
    ]);
    expect((await new NginxRouter(cfg, deps).preview([{ kind: 'weights', weights: { blue: 100, green: 0 } }]))[0]!.lines).toEqual([
      `write ${nginx.configFile}: upstream shop (blue 100%, green 0%): server 127.0.0.1:${backends['blue-0']!.port} weight=1 (blue-0), server 127.0.0.1:${backends['blue-1']!.port} weight=1 (blue-1), server 127.0.0.1:${backends['green-0']!.port} down (green-0)`,
      `test: ${nginx.testCommand}`,
      `reload: ${nginx.reloadCommand}`,
    ]);
  });

  // a connection per request: a reload closes idle keep-alive client connections, and a client
  // that reuses one at that moment gets a reset it must retry (see the README, "nginx in front")
  it('switches blue -> green -> blue under load without a failed request', async () => {
    const load = startLoad({ port: nginx.port, connections: 4, pauseMs: 2, keepAlive: false, maxDurationMs: 15_000, maxRequests: 20_000 });
    try {
      await load.waitFor(50);
      const deadline = performance.now() + 3000;
      let switches = 0;
      while (performance.now() < deadline && switches < 20) {
        await router.setWeights(switches % 2 === 0 ? { blue: 100, green: 0 } : { blue: 0, green: 100 });
        switches++;
      }
      await load.waitFor(load.total + 50);
      const r = await load.stop();
      expect(r.non2xx + r.errors, describeLoad(r)).toBe(0);
      expect(r.total, describeLoad(r)).toBeGreaterThanOrEqual(200);
      expect(switches).toBeGreaterThanOrEqual(4);
      console.log(`nginx switches under load: ${switches} in 3 s; ${describeLoad(r)}`);
      expect(Object.keys(r.versions).sort(), describeLoad(r)).toEqual(['blue-0', 'blue-1', 'green-0']);
    } finally {
      await load.stop().catch(() => undefined);
    }
  });
});
