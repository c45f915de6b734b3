import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRuntime, stopRuntime, type RuntimeClient } from '../src/runtime/client.js';
import type { InstanceSpec } from '../src/runtime/model.js';
import { runtimePaths } from '../src/runtime/paths.js';
import { ControlApiError } from '../src/runtime/unix-json.js';
import { freePortRange, get, waitFor } from './support/net.js';

/** The daemon's control API against the real daemon and router processes (dist/). */

const home = realpathSync(mkdtempSync(join(tmpdir(), 'dapi-')));
const appDir = join(home, 'rel');
let client: RuntimeClient;
let base = 0;
let listen = 0;

const config = (port: number) => ({
  listen: { host: '127.0.0.1', port },
  hostnames: [],
  health: { path: '/health', intervalMs: 100, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 },
  stickyCookie: null,
  drainTimeoutMs: 2000,
  unavailableWaitMs: 2000,
});
const spec = (id: string, port: number, pool = 'blue'): InstanceSpec => ({
  app: 'api',
  id,
  pool,
  port,
  release: 'r1',
  dir: appDir,
  command: 'exec node server.js',
  env: { GREETING: 'hi' },
  stopTimeoutMs: 2000,
  logFile: join(home, 'logs', `${id}.log`),
});

async function apiError(p: Promise<unknown>): Promise<ControlApiError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ControlApiError) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}

/** One GET through the router with these headers: the body. */
const getWith = async (port: number, headers: Record<string, string>): Promise<string> => (await get(port, '/', 5000, headers)).body;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return !/State:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
};

beforeAll(async () => {
  mkdirSync(appDir, { recursive: true });
  writeFileSync(
    join(appDir, 'server.js'),
    `require('http').createServer((q, r) => r.end(q.url === '/health' ? 'ok' : process.env.GREETING + ' ' + process.env.PORT)).listen(Number(process.env.PORT), '127.0.0.1');\n`,
  );
  base = await freePortRange([0, 1, 2]);
  listen = await freePortRange([0]);
  process.env.DEPLOYER_HOME = home;
  client = (await ensureRuntime(home)).client;
});

afterAll(async () => {
  await stopRuntime(home);
  rmSync(home, { recursive: true, force: true });
});

describe('the runtime control API', () => {
  it('refuses bad input with 400 naming the field, unknown apps with 404', async () => {
    const bad = await apiError(client.call('PUT', '/apps/api', { ...config(listen), listen: { host: '127.0.0.1', port: 70000 } }));
    expect(bad.status).toBe(400);
    expect(bad.message).toMatch(/^listen\.port: /);
    expect((await apiError(client.call('PUT', '/apps/api', { nonsense: true }))).status).toBe(400);
    const proxies = await apiError(client.call('PUT', '/apps/api', { ...config(listen), trustedProxies: ['10.0.0.0/8', '10.0.0.0/40'] }));
    expect([proxies.status, proxies.message]).toEqual([400, 'trustedProxies.1: must be an IP address or a CIDR block such as 10.0.0.0/8 or fd00::/8']);
    expect((await apiError(client.call('PUT', '/apps/bad%20name', config(listen)))).status).toBe(400);
    const unknown = await apiError(client.setWeights('nope', { blue: 100 }));
    expect([unknown.status, unknown.message]).toEqual([404, 'app nope is not known to the runtime']);
    expect((await apiError(client.call('GET', '/no/such/route'))).status).toBe(404);
  });

  it('starts instances that the router serves once healthy, and moves traffic by weight', async () => {
    await client.putApp('api', config(listen));
    await client.startInstances('api', [spec('blue-0', base), spec('blue-1', base + 1)]);
    for (const id of ['blue-0', 'blue-1']) expect((await client.waitHealthy('api', id, 10_000)).healthy).toBe(true);
    await client.setWeights('api', { blue: 100 });
    const bodies = new Set<string>();
    for (let i = 0; i < 10; i++) bodies.add((await get(listen, '/')).body);
    expect(bodies).toEqual(new Set([`hi ${base}`, `hi ${base + 1}`]));
  });

  it('with `only`, sets the pools not named to 0 in the same update', async () => {
    expect((await client.setWeights('api', {}, true)).weights).toEqual({ blue: 0 });
    const answer = await get(listen, '/').catch((e: Error) => e);
    expect(answer instanceof Error || answer.status === 503).toBe(true);
    expect((await client.setWeights('api', { blue: 100 }, true)).weights).toEqual({ blue: 100 });
    expect((await get(listen, '/')).body).toMatch(/^hi /);
  });

  it('refuses a port another instance of the app has, and one another program has, starting nothing', async () => {
    const clash = await apiError(client.startInstances('api', [spec('green-0', base, 'green')]));
    expect([clash.status, clash.message]).toEqual([409, `instance green-0: port ${base} is used by instance blue-0 of api`]);
    const squatter: Server = createServer();
    await new Promise<void>((r) => squatter.listen(base + 2, '127.0.0.1', r));
    try {
      const taken = await apiError(client.startInstances('api', [spec('green-1', base + 2, 'green')]));
      expect(taken.status).toBe(409);
      expect(taken.message).toContain(`port ${base + 2} is already in use`);
    } finally {
      squatter.close();
    }
    const view = await client.app('api');
    expect(view!.instances.map((i) => i.id)).toEqual(['blue-0', 'blue-1']);
  });

  it('refuses traffic for a pool with no instances, and a port another app has', async () => {
    const empty = await apiError(client.setWeights('api', { green: 100 }));
    expect([empty.status, empty.message]).toEqual([409, 'pool green of api has no instances to send traffic to']);
    await client.putApp('other', config(await freePortRange([0])));
    const taken = await apiError(client.startInstances('other', [{ ...spec('blue-0', base), app: 'other' }]));
    expect([taken.status, taken.message]).toEqual([409, `instance blue-0: port ${base} is used by instance blue-0 of api`]);
    await client.removeApp('other');
  });

  it('holds an instance out of traffic until it is released', async () => {
    await client.startInstances('api', [spec('blue-2', base + 2)], true);
    expect((await client.waitHealthy('api', 'blue-2', 10_000)).healthy).toBe(true);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await get(listen, '/')).body);
    expect(seen.has(`hi ${base + 2}`)).toBe(false);
    expect((await client.app('api'))!.instances.find((i) => i.id === 'blue-2')).toMatchObject({ held: true, pool: 'blue' });
    await client.release('api', 'blue-2');
    await waitFor(async () => ((await get(listen, '/')).body === `hi ${base + 2}` ? true : undefined), 'the released instance to serve');
    await client.stopInstances('api', ['blue-2']);
  });

  it('puts a serving instance back on hold with its requests drained, and into traffic again on release', async () => {
    const drained = await client.hold('api', 'blue-1', 5000);
    expect(drained).toMatchObject({ drained: true, inFlight: 0 });
    expect((await client.app('api'))!.instances.find((i) => i.id === 'blue-1')).toMatchObject({ held: true, pool: 'blue', state: 'running' });
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) seen.add((await get(listen, '/')).body);
    expect(seen).toEqual(new Set([`hi ${base}`]));
    await client.release('api', 'blue-1');
    await waitFor(async () => ((await get(listen, '/')).body === `hi ${base + 1}` ? true : undefined), 'the released instance to serve again');
    expect((await client.app('api'))!.instances.find((i) => i.id === 'blue-1')).toMatchObject({ held: false, traffic: 'healthy' });
  });

  it('runs and health-checks the instances of an app with no listener (another router serves it), listening on no port for it', async () => {
    const [port, inst] = [await freePortRange([0]), await freePortRange([0])];
    await client.putApp('quiet', config(port));
    // listening: it answers (503 after unavailableWaitMs, the app having no instances yet)
    expect(await get(port, '/', 5000).then((r) => r.status, (e: NodeJS.ErrnoException) => e.code)).toBe(503);
    // the same app handed to another router: the port is let go, the checks go on
    await client.putApp('quiet', { ...config(port), listen: null });
    await waitFor(async () => ((await get(port, '/').catch((e: NodeJS.ErrnoException) => e.code)) === 'ECONNREFUSED' ? true : undefined), 'the router to let go of the port');
    await client.startInstances('quiet', [{ ...spec('blue-0', inst), app: 'quiet' }]);
    await client.waitAllHealthy('quiet', ['blue-0'], 10_000);
    await client.setWeights('quiet', { blue: 100 });
    const view = (await client.app('quiet'))!;
    expect(view.listen).toBeNull();
    expect(view.instances).toMatchObject([{ id: 'blue-0', state: 'running', traffic: 'healthy' }]);
    expect((await get(port, '/').catch((e: NodeJS.ErrnoException) => e.code))).toBe('ECONNREFUSED');
    expect((await get(inst, '/')).body).toBe(`hi ${inst}`);
    await client.removeApp('quiet');
  });

  it('keeps the previous router config when a new listen port is taken', async () => {
    const squatter: Server = createServer();
    const taken = await freePortRange([0]);
    await new Promise<void>((r) => squatter.listen(taken, '127.0.0.1', r));
    try {
      const e = await apiError(client.putApp('api', config(taken)));
      expect(e.status).toBe(409);
      expect(e.message).toContain(`${taken}`);
    } finally {
      squatter.close();
    }
    expect((await client.app('api'))!.listen?.port).toBe(listen);
    expect((await get(listen, '/')).status).toBe(200);
  });

  it('refuses bad routes with 400 naming the field, unknown apps with 404', async () => {
    const cases: [unknown, string | RegExp][] = [
      [[{ header: 'x canary', pool: 'green' }], /^routes\.0\.header: must be a header name/],
      [[{ header: 'x-a', cookie: 'b', pool: 'green' }], 'routes.0: give exactly one of header and cookie'],
      [[{ pool: 'green' }], 'routes.0: give exactly one of header and cookie'],
      [[{ header: 'x-a', pool: 'no pool' }], /^routes\.0\.pool: must be a pool name/],
      [[{ cookie: 'beta', value: 'a;b', pool: 'green' }], /^routes\.0\.value: must be a cookie value/],
      [[{ header: 'x-a', value: ' padded', pool: 'green' }], /^routes\.0\.value: /],
      [[{ header: 'x-a', pool: 'green', weight: 5 }], /^routes\.0: /],
      [Array.from({ length: 17 }, () => ({ header: 'x-a', pool: 'green' })), 'routes: at most 16 rules'],
    ];
    for (const [routes, message] of cases) {
      const e = await apiError(client.call('PUT', '/apps/api/routes', { routes }));
      expect(e.status).toBe(400);
      expect(e.message).toMatch(message);
    }
    expect((await client.app('api'))!.routes).toEqual([]);
    expect((await apiError(client.setRoutes('nope', []))).status).toBe(404);
    expect((await apiError(client.traffic('nope'))).status).toBe(404);
  });

  it('routes by header to a pool without weight, through putApp and a router restart; reports traffic and labelled metrics', async () => {
    await client.startInstances('api', [{ ...spec('green-0', base + 2, 'green'), release: 'r2', env: { GREETING: 'canary' } }]);
    expect((await client.waitHealthy('api', 'green-0', 10_000)).healthy).toBe(true);
    const view = await client.setRoutes('api', [{ header: 'X-Canary', pool: 'green' }]);
    expect(view.routes).toEqual([{ header: 'x-canary', pool: 'green' }]);
    expect(view.weights).toEqual({ blue: 100 });
    const canary = `canary ${base + 2}`;
    expect(await getWith(listen, { 'x-canary': '1' })).toBe(canary);
    for (let i = 0; i < 6; i++) expect(await getWith(listen, {})).toMatch(/^hi /);
    // replacing the app's config keeps its routes
    expect((await client.putApp('api', config(listen))).routes).toEqual([{ header: 'x-canary', pool: 'green' }]);
    expect(await getWith(listen, { 'x-canary': '1' })).toBe(canary);

    const t = await client.traffic('api');
    expect(t.app).toBe('api');
    expect(t.pools.green).toMatchObject({ requests: { '2xx': 2, '5xx': 0, errors: 0 }, latency: { count: 2 }, samples: { seq: 2 } });
    expect(t.pools.green!.samples.latencyMs).toHaveLength(2);
    const blue = t.pools.blue!;
    expect(blue.samples.seq).toBe(blue.latency.count);
    expect(blue.samples.latencyMs).toHaveLength(Math.min(blue.samples.seq, 4096));
    expect(blue.requests['2xx']).toBeGreaterThanOrEqual(6);

    const prom = (await client.metrics('prometheus')) as string;
    expect(prom).toContain('deployer_router_requests_total{app="api",pool="green",target="green-0",release="r2",class="2xx"} 2');
    expect(prom).toContain('deployer_router_target_request_duration_seconds_count{app="api",pool="green",target="green-0",release="r2"} 2');
    expect(prom).toMatch(/deployer_router_requests_total\{app="api",pool="blue",target="blue-0",release="r1",class="2xx"\} \d+/);
    expect(prom).toContain('deployer_router_pool_requests_total{app="api",pool="green",class="2xx"} 2');

    // a router that dies is started again with the whole app config, routes included
    const routerPid = (await client.status()).routerPid!;
    process.kill(routerPid, 'SIGKILL');
    await waitFor(async () => {
      const pid = (await client.status()).routerPid;
      return pid !== null && pid !== routerPid && (await getWith(listen, { 'x-canary': '1' })) === canary ? true : undefined;
    }, 'a new router that routes the header', 20_000);
    await client.stopInstances('api', ['green-0']);
  });

  it('fails fast, with the log tail, for an instance that exits at once', async () => {
    const broken = { ...spec('green-0', base + 2, 'green'), command: 'echo "cannot open config" >&2; exit 3' };
    await client.startInstances('api', [broken]);
    const started = Date.now();
    const r = await client.waitHealthy('api', 'green-0', 20_000);
    expect(r.healthy).toBe(false);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.detail).toBe('instance green-0 exited with code 3 before it became healthy');
    expect(r.logTail).toContain('cannot open config');
    await client.stopInstances('api', ['green-0']);
  });

  it('persists the state atomically and a SIGKILLed daemon comes back with the same instances, traffic never stopping', async () => {
    const paths = runtimePaths(home);
    const state = JSON.parse(readFileSync(paths.state, 'utf8')) as { apps: Record<string, { weights: Record<string, number>; routes: unknown; instances: Record<string, { process: { pid: number } }> }> };
    expect(state.apps.api!.weights).toEqual({ blue: 100 });
    expect(state.apps.api!.routes).toEqual([{ header: 'x-canary', pool: 'green' }]);
    const pids = Object.values(state.apps.api!.instances).map((i) => i.process.pid);
    expect(pids).toHaveLength(2);
    const daemonPid = (await client.status()).pid;
    process.kill(daemonPid, 'SIGKILL');
    await waitFor(() => (alive(daemonPid) ? undefined : true), 'the daemon to die');
    // the router and the instances are not the daemon's children in any way that kills them
    for (let i = 0; i < 5; i++) expect((await get(listen, '/')).status).toBe(200);

    const again = await ensureRuntime(home);
    expect(again.started).toBe(true);
    const view = await again.client.app('api');
    expect(view!.instances.map((i) => i.pid).sort()).toEqual([...pids].sort());
    expect(view!.weights).toEqual({ blue: 100 });
    expect(view!.routes).toEqual([{ header: 'x-canary', pool: 'green' }]);
    expect(existsSync(`${paths.state}.tmp`)).toBe(false);
    client = again.client;
  });

  it('stops a pool after a delay unless it takes traffic again', async () => {
    const later = await client.stopPoolAfter('api', 'blue', 60_000);
    expect(later.stopAt.blue).toBeDefined();
    const cancelled = await client.stopPoolAfter('api', 'blue', null);
    expect(cancelled.stopAt.blue).toBeUndefined();
    // weight > 0 when the time comes: the daemon refuses to stop it
    await client.stopPoolAfter('api', 'blue', 1);
    await waitFor(async () => ((await client.app('api'))!.stopAt.blue === undefined ? true : undefined), 'the stop to come due');
    expect((await client.app('api'))!.instances).toHaveLength(2);
    // at weight 0 it stops, drained
    await client.setWeights('api', { blue: 0 });
    await client.stopPoolAfter('api', 'blue', 1);
    await waitFor(async () => ((await client.app('api'))!.instances.length === 0 ? true : undefined), 'the pool to stop', 15_000);
  });
});
