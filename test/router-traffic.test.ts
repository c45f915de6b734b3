// Per-pool traffic (counters + recent latency samples), in-process (RouterCore) against real
// node:http backends.
import { Agent, createServer, request, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolTraffic, RouterApp } from '../src/runtime/model.js';
import { RouterCore } from '../src/runtime/router/core.js';
import { BOUNDS_MS } from '../src/runtime/router/metrics.js';
import { SAMPLE_CAPACITY } from '../src/runtime/router/samples.js';
import { freePort } from './support/net.js';

const servers: Server[] = [];
const cores: RouterCore[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  for (const a of agents.splice(0)) a.destroy();
  await Promise.all(cores.splice(0).map((c) => c.close(1000)));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

/** Answers its name; /status/<code> with that status; /delay/<ms> after that long. */
async function backend(name: string): Promise<number> {
  const s = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/status/')) res.statusCode = Number(url.slice(8));
    if (url.startsWith('/delay/')) return void setTimeout(() => res.end(name), Number(url.slice(7)));
    res.end(name);
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

function spec(port: number, pools: [name: string, weight: number, ports: number[]][], over: Partial<RouterApp> = {}): RouterApp {
  return {
    name: 'shop',
    listen: { host: '127.0.0.1', port },
    hostnames: [],
    pools: pools.map(([name, weight, ports]) => ({ name, weight, targets: ports.map((p, i) => ({ id: `${name}-${i}`, host: '127.0.0.1', port: p, initial: 'healthy' as const })) })),
    health: { path: null, intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 },
    stickyCookie: null,
    drainTimeoutMs: 1000,
    unavailableWaitMs: 0,
    ...over,
  };
}

function core(): RouterCore {
  const c = new RouterCore();
  cores.push(c);
  return c;
}

function hit(port: number, path = '/', agent: Agent | false = false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The histogram a list of latencies makes (the router's buckets). */
function bucketsOf(ms: number[]): number[] {
  const counts = new Array<number>(BOUNDS_MS.length + 1).fill(0);
  for (const x of ms) {
    let i = 0;
    while (i < BOUNDS_MS.length && x > BOUNDS_MS[i]!) i++;
    counts[i]!++;
  }
  return counts;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

describe('router: per-pool traffic', () => {
  it('samples exactly the requests counted in the pool histogram, oldest first, and lists quiet pools empty', async () => {
    const [blue, green] = [await backend('blue'), await backend('green')];
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec(port, [['blue', 100, [blue]], ['green', 0, [green]]]));
    const paths = ['/', '/status/500', '/delay/40', '/status/404', '/', '/delay/15', '/'];
    for (const p of paths) await hit(port, p);
    // a request with no target to go to: a router 503, counted (and sampled) on the first pool
    c.markDown('shop', 'blue-0');
    expect(await hit(port)).toBe(503);

    const t = c.traffic('shop');
    expect(Object.keys(t.pools)).toEqual(['blue', 'green']);
    const b = t.pools.blue!;
    const m = c.metrics()[0]!.pools.blue!;
    expect(b.requests).toEqual(m.requests);
    expect(b.latency).toEqual(m.latency);
    expect(b.requests).toEqual({ '1xx': 0, '2xx': 5, '3xx': 0, '4xx': 1, '5xx': 1, errors: 1 });
    expect(b.samples.seq).toBe(8);
    expect(b.samples.latencyMs).toHaveLength(8);
    // the same values the histogram got, in the order they came: same buckets, the very same sum
    expect(bucketsOf(b.samples.latencyMs)).toEqual(b.latency.counts);
    expect(sum(b.samples.latencyMs)).toBe(b.latency.sumMs);
    // the delayed requests were the 3rd and the 6th
    expect(b.samples.latencyMs[2]!).toBeGreaterThanOrEqual(39);
    expect(b.samples.latencyMs[5]!).toBeGreaterThanOrEqual(14);

    const quiet: PoolTraffic = t.pools.green!;
    expect(quiet.samples).toEqual({ seq: 0, latencyMs: [] });
    expect(quiet.requests).toEqual({ '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0 });
    expect(quiet.latency.count).toBe(0);
    expect(() => c.traffic('nope')).toThrow(expect.objectContaining({ status: 404 }));
  });

  it('keeps the newest samples once more than the ring holds, agreeing with the counters under concurrent load', async () => {
    const blue = await backend('blue');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec(port, [['blue', 100, [blue]]]));
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    agents.push(agent);
    const total = SAMPLE_CAPACITY + 900;
    let next = 0;
    let mid: PoolTraffic | undefined;
    const worker = async (): Promise<void> => {
      while (next < total) {
        next++;
        expect(await hit(port, '/', agent)).toBe(200);
        // read while requests are in flight: counters and samples still agree
        if (next === 2000) mid = c.traffic('shop').pools.blue;
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    expect(mid).toBeDefined();
    expect(mid!.samples.seq).toBe(mid!.latency.count);
    expect(mid!.samples.latencyMs).toHaveLength(mid!.samples.seq);
    expect(sum(mid!.samples.latencyMs)).toBe(mid!.latency.sumMs);

    // two requests of known latency last: the newest two samples, in order
    expect(await hit(port, '/delay/250', agent)).toBe(200);
    expect(await hit(port, '/', agent)).toBe(200);
    const b = c.traffic('shop').pools.blue!;
    expect(b.samples.seq).toBe(total + 2);
    expect(b.samples.seq).toBe(b.latency.count);
    expect(b.samples.latencyMs).toHaveLength(SAMPLE_CAPACITY);
    const n = SAMPLE_CAPACITY;
    expect(b.samples.latencyMs[n - 2]!).toBeGreaterThanOrEqual(249);
    expect(b.samples.latencyMs[n - 1]!).toBeLessThan(249);
    expect(b.samples.latencyMs.every((x) => x > 0)).toBe(true);
  });
});
