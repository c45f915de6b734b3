// Header/cookie routes and the sticky cookie, in-process (RouterCore) against real node:http backends.
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouteRule, RouterApp } from '../src/runtime/model.js';
import { RouterCore } from '../src/runtime/router/core.js';
import { seededRandom } from '../src/util/seeded-random.js';
import { freePort } from './support/net.js';

const servers: Server[] = [];
const cores: RouterCore[] = [];

afterEach(async () => {
  await Promise.all(cores.splice(0).map((c) => c.close(1000)));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** A backend that answers its name (and 'ok' to health checks). */
async function backend(name: string): Promise<number> {
  const s = createServer((req, res) => res.end(req.url === '/health' ? 'ok' : name));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

function core(): RouterCore {
  const c = new RouterCore({ random: seededRandom(11) });
  cores.push(c);
  return c;
}

type PoolDef = [name: string, weight: number, ports: number[]];

function spec(port: number, pools: PoolDef[], over: Partial<RouterApp> = {}): RouterApp {
  return {
    name: 'shop',
    listen: { host: '127.0.0.1', port },
    hostnames: [],
    pools: pools.map(([name, weight, ports]) => ({ name, weight, targets: ports.map((p, i) => ({ id: `${name}-${i}`, host: '127.0.0.1', port: p, initial: 'healthy' as const })) })),
    health: { path: '/health', intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 },
    stickyCookie: null,
    drainTimeoutMs: 1000,
    unavailableWaitMs: 0,
    ...over,
  };
}

interface Reply {
  status: number;
  body: string;
  setCookie: string[] | undefined;
}

function hit(port: number, headers: Record<string, string> = {}, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/', method, headers, agent: false, timeout: 5000 }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, setCookie: res.headers['set-cookie'] }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(method === 'POST' ? 'payload' : undefined);
  });
}

/** The bodies of n requests with these headers, counted. */
async function spread(port: number, n: number, headers: Record<string, string> = {}): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await hit(port, headers);
    seen[r.body] = (seen[r.body] ?? 0) + 1;
  }
  return seen;
}

describe('router: header and cookie routes', () => {
  it('sends a request with the header to the rule pool whatever its weight, and the rest by weight', async () => {
    const [blue, green] = [await backend('blue'), await backend('green')];
    const port = await freePort();
    const c = core();
    const routes: RouteRule[] = [{ header: 'x-canary', pool: 'green' }];
    await c.upsertApp(spec(port, [['blue', 100, [blue]], ['green', 0, [green]]], { routes }));
    expect(await spread(port, 10)).toEqual({ blue: 10 });
    // header names match whatever their case; any value
    expect(await spread(port, 10, { 'X-Canary': '1' })).toEqual({ green: 10 });
    expect(await spread(port, 5, { 'x-canary': '' })).toEqual({ green: 5 });
    // a header that only starts like the rule's is another header
    expect(await spread(port, 5, { 'x-canary-not': '1' })).toEqual({ blue: 5 });
    // with a value: that exact value only
    await c.upsertApp(spec(port, [['blue', 100, [blue]], ['green', 0, [green]]], { routes: [{ header: 'x-tester', value: 'alice', pool: 'green' }] }));
    expect(await spread(port, 5, { 'x-tester': 'alice' })).toEqual({ green: 5 });
    expect(await spread(port, 5, { 'x-tester': 'Alice' })).toEqual({ blue: 5 });
    expect(await spread(port, 5, { 'x-tester': 'alice2' })).toEqual({ blue: 5 });
    expect(await spread(port, 5, { 'x-canary': '1' })).toEqual({ blue: 5 });
    // routes removed: the header means nothing again
    await c.upsertApp(spec(port, [['blue', 100, [blue]], ['green', 0, [green]]], { routes: [] }));
    expect(await spread(port, 5, { 'x-tester': 'alice' })).toEqual({ blue: 5 });
  });

  it('matches cookies by name and exact value, and the first matching rule wins', async () => {
    const [blue, green, canary] = [await backend('blue'), await backend('green'), await backend('canary')];
    const port = await freePort();
    const c = core();
    const routes: RouteRule[] = [
      { cookie: 'beta', value: '1', pool: 'green' },
      { header: 'x-canary', pool: 'canary' },
      { cookie: 'beta', pool: 'canary' },
    ];
    await c.upsertApp(spec(port, [['blue', 100, [blue]], ['green', 0, [green]], ['canary', 0, [canary]]], { routes }));
    expect(await spread(port, 5, { cookie: 'a=b; beta=1' })).toEqual({ green: 5 });
    expect(await spread(port, 5, { cookie: 'beta=1', 'x-canary': 'y' })).toEqual({ green: 5 });
    expect(await spread(port, 5, { cookie: 'beta=2', 'x-canary': 'y' })).toEqual({ canary: 5 });
    expect(await spread(port, 5, { cookie: 'xbeta=1' })).toEqual({ blue: 5 });
    expect(await spread(port, 5, { cookie: 'beta=10' })).toEqual({ canary: 5 });
    expect(await spread(port, 5, { 'x-canary': 'y' })).toEqual({ canary: 5 });
  });

  it('falls back to normal selection while the rule pool has no healthy target, and retries within the rule pool', async () => {
    const [blue, green] = [await backend('blue'), await backend('green')];
    const dead = await freePort();
    const port = await freePort();
    const c = core();
    // the checks would take 100 failures: the refused connect of a request takes green-0 out
    const health = { path: '/health', intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 100, healthyThreshold: 1 };
    await c.upsertApp(spec(port, [['blue', 100, [blue]], ['green', 0, [dead, green]]], { health, routes: [{ header: 'x-canary', pool: 'green' }] }));
    // green-0 refuses: the request is retried on green-1, not sent by weight to blue
    expect(await spread(port, 6, { 'x-canary': '1' })).toEqual({ green: 6 });
    expect(c.view()[0]!.pools[1]!.targets[0]!.state).toBe('unhealthy');
    // no healthy target in the rule pool: by weight (GET and POST alike)
    c.markDown('shop', 'green-1');
    expect(await spread(port, 5, { 'x-canary': '1' })).toEqual({ blue: 5 });
    expect((await hit(port, { 'x-canary': '1' }, 'POST')).body).toBe('blue');
    c.enable('shop', 'green-1', true);
    expect(await spread(port, 5, { 'x-canary': '1' })).toEqual({ green: 5 });
    // a rule naming a pool the app does not have is ignored
    await c.upsertApp(spec(port, [['blue', 100, [blue]]], { routes: [{ header: 'x-canary', pool: 'green' }] }));
    expect(await spread(port, 3, { 'x-canary': '1' })).toEqual({ blue: 3 });
  });

  it('beats the sticky cookie and never sets or refreshes it', async () => {
    const [blue, green, canary] = [await backend('blue'), await backend('green'), await backend('canary')];
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec(port, [['blue', 50, [blue]], ['green', 50, [green]], ['canary', 0, [canary]]], { stickyCookie: 'dpl', routes: [{ header: 'x-canary', pool: 'canary' }] }));
    // the weights are split: an unrouted request gets a cookie, a routed one does not
    const plain = await hit(port);
    expect(plain.setCookie?.[0]).toBe(`dpl=${plain.body}; Path=/; HttpOnly; SameSite=Lax`);
    const routed = await hit(port, { 'x-canary': '1' });
    expect([routed.body, routed.setCookie]).toEqual(['canary', undefined]);
    // pinned to blue, the header still wins, and the pin is left alone
    const pinned = await hit(port, { cookie: 'dpl=blue', 'x-canary': '1' });
    expect([pinned.body, pinned.setCookie]).toEqual(['canary', undefined]);
    // a stale pin (to the canary, weight 0) with the header: still routed, still no cookie
    const stale = await hit(port, { cookie: 'dpl=canary', 'x-canary': '1' });
    expect([stale.body, stale.setCookie]).toEqual(['canary', undefined]);
  });

  it('refuses a rule with both or neither of header and cookie', async () => {
    const blue = await backend('blue');
    const port = await freePort();
    const c = core();
    await expect(c.upsertApp(spec(port, [['blue', 1, [blue]]], { routes: [{ header: 'x-a', cookie: 'b', pool: 'blue' }] }))).rejects.toMatchObject({ status: 400, message: 'routes.0: give exactly one of header and cookie' });
    await expect(c.upsertApp(spec(port, [['blue', 1, [blue]]], { routes: [{ pool: 'blue' }] }))).rejects.toMatchObject({ status: 400 });
    expect(c.view()).toEqual([]);
  });
});

describe('router: the sticky cookie', () => {
  it('ignores a pin to a pool with weight 0, no healthy target, or that does not exist, and pins again by weight', async () => {
    const [blue, green, gray] = [await backend('blue'), await backend('green'), await backend('gray')];
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec(port, [['blue', 50, [blue]], ['green', 50, [green]], ['gray', 0, [gray]]], { stickyCookie: 'dpl' }));
    // a valid pin is kept, without a new cookie
    for (const pool of ['blue', 'green']) {
      const r = await hit(port, { cookie: `dpl=${pool}` });
      expect([r.body, r.setCookie]).toEqual([pool, undefined]);
    }
    // weight 0 (or a pool the app does not have): chosen by weight, and pinned there
    const seen = new Set<string>();
    for (const stale of ['gray', 'gray', 'gray', 'gray', 'gray', 'gray', 'purple']) {
      const r = await hit(port, { cookie: `dpl=${stale}` });
      expect(['blue', 'green']).toContain(r.body);
      expect(r.setCookie?.[0]).toBe(`dpl=${r.body}; Path=/; HttpOnly; SameSite=Lax`);
      seen.add(r.body);
    }
    // both weighted pools come up: a re-pick is by weight, not "the first other pool"
    expect(seen).toEqual(new Set(['blue', 'green']));
    // the pinned pool has no healthy target: moved to one that has, and told so
    c.markDown('shop', 'green-0');
    for (let i = 0; i < 5; i++) {
      const r = await hit(port, { cookie: 'dpl=green' });
      expect([r.body, r.setCookie?.[0]]).toEqual(['blue', 'dpl=blue; Path=/; HttpOnly; SameSite=Lax']);
    }
  });
});
