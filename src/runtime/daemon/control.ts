import http from 'node:http';
import { z } from 'zod';
import type { InstanceSpec } from '../model.js';
import { LimitsSchema } from '../router/limits.js';
import { RoutesSchema, TrustedProxiesSchema } from '../router/route-schema.js';
import { closeAfter, ControlApiError, readJsonBody, sendJson } from '../unix-json.js';
import type { AppConfig, Daemon } from './daemon.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/);
const ms = z.number().int().min(0).max(86_400_000);

const appConfig = z.strictObject({
  listen: z.strictObject({ host: z.string().min(1).max(255), port: z.number().int().min(1).max(65535) }).nullable(),
  hostnames: z.array(z.string().max(255)).max(64),
  health: z.strictObject({
    path: z.string().startsWith('/').nullable(),
    intervalMs: ms,
    timeoutMs: ms,
    unhealthyThreshold: z.number().int().min(1).max(100),
    healthyThreshold: z.number().int().min(1).max(100),
  }),
  stickyCookie: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).nullable(),
  drainTimeoutMs: ms,
  unavailableWaitMs: ms,
  trustedProxies: TrustedProxiesSchema.optional(),
  limits: LimitsSchema.optional(),
});

const instanceSpec = z.strictObject({
  app: name,
  id: name,
  pool: name,
  port: z.number().int().min(1).max(65535),
  release: z.string().min(1).max(255),
  dir: z.string().startsWith('/'),
  command: z.string().min(1).max(65536),
  env: z.record(z.string(), z.string()),
  stopTimeoutMs: ms,
  logFile: z.string().startsWith('/'),
  healthPath: z.string().startsWith('/').nullable().optional(),
});

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new ControlApiError(400, `${i.path.join('.') || 'body'}: ${i.message}`);
  }
  return r.data;
}

type Route = (d: Daemon, m: RegExpMatchArray, body: unknown, url: URL) => Promise<unknown>;

const routes: [string, RegExp, Route][] = [
  ['GET', /^\/status$/, (d) => d.status()],
  ['GET', /^\/metrics$/, (d, _m, _b, url) => d.metrics(url.searchParams.get('format') === 'prometheus' ? 'prometheus' : 'json')],
  ['PUT', /^\/settings$/, async (d, _m, b) => {
    const s = parse(z.strictObject({ metricsListen: z.string().max(300).nullable() }), b);
    await d.setMetricsListen(s.metricsListen);
    return { ok: true };
  }],
  ['GET', /^\/apps\/([^/]+)$/, (d, m) => d.view(m[1]!)],
  ['PUT', /^\/apps\/([^/]+)$/, (d, m, b) => d.putApp(parse(name, m[1]), parse(appConfig, b) as AppConfig)],
  ['DELETE', /^\/apps\/([^/]+)$/, async (d, m) => {
    await d.removeApp(m[1]!);
    return { ok: true };
  }],
  ['POST', /^\/apps\/([^/]+)\/instances$/, (d, m, b) => {
    const r = parse(z.strictObject({ instances: z.array(instanceSpec).min(1).max(256), hold: z.boolean().default(false) }), b);
    return d.startInstances(m[1]!, r.instances as InstanceSpec[], r.hold);
  }],
  ['POST', /^\/apps\/([^/]+)\/instances\/([^/]+)\/release$/, async (d, m) => {
    await d.release(m[1]!, m[2]!);
    return { ok: true };
  }],
  ['POST', /^\/apps\/([^/]+)\/instances\/([^/]+)\/hold$/, (d, m, b) => d.hold(m[1]!, m[2]!, parse(z.strictObject({ timeoutMs: ms.optional() }), b).timeoutMs)],
  ['POST', /^\/apps\/([^/]+)\/instances\/stop$/, async (d, m, b) => {
    const r = parse(z.strictObject({ ids: z.array(name).max(512), drain: z.boolean().default(true) }), b);
    await d.stopInstances(m[1]!, r.ids, r.drain);
    return d.view(m[1]!);
  }],
  ['PUT', /^\/apps\/([^/]+)\/routes$/, (d, m, b) => d.setRoutes(m[1]!, parse(z.strictObject({ routes: RoutesSchema }), b).routes)],
  ['GET', /^\/apps\/([^/]+)\/traffic$/, (d, m) => d.traffic(m[1]!)],
  ['POST', /^\/apps\/([^/]+)\/weights$/, (d, m, b) => {
    const body = parse(z.strictObject({ weights: z.record(name, z.number().min(0).max(100)), only: z.boolean().optional() }), b);
    return d.setWeights(m[1]!, body.weights, body.only ?? false);
  }],
  ['POST', /^\/apps\/([^/]+)\/instances\/([^/]+)\/wait-healthy$/, (d, m, b) => d.waitHealthy(m[1]!, m[2]!, parse(z.strictObject({ timeoutMs: ms }), b).timeoutMs)],
  ['POST', /^\/apps\/([^/]+)\/pools\/([^/]+)\/stop-after$/, (d, m, b) => d.scheduleStop(m[1]!, m[2]!, parse(z.strictObject({ delayMs: ms.nullable() }), b).delayMs)],
];

/** The daemon's control API: JSON over HTTP on its unix socket. */
export function controlServer(daemon: Daemon, onShutdown: () => void): http.Server {
  return http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://deployer');
      try {
        const body = req.method === 'GET' || req.method === 'DELETE' ? {} : await readJsonBody(req);
        if (req.method === 'POST' && url.pathname === '/shutdown') {
          sendJson(res, 200, { ok: true, pid: process.pid });
          onShutdown();
          return;
        }
        for (const [method, re, route] of routes) {
          const m = url.pathname.match(re);
          if (!m || req.method !== method) continue;
          const decoded = m.map((s) => decodeURIComponent(s)) as unknown as RegExpMatchArray;
          sendJson(res, 200, (await route(daemon, decoded, body, url)) ?? { ok: true });
          return;
        }
        sendJson(res, 404, { error: `no route ${req.method} ${url.pathname}` });
      } catch (e) {
        const status = e instanceof ControlApiError ? e.status : 500;
        closeAfter(res, status);
        if (!res.headersSent) sendJson(res, status, { error: (e as Error).message });
        else res.destroy();
      }
    })();
  });
}
