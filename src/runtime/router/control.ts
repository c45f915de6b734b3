// The control API: HTTP/1.1 + JSON on a unix socket, a thin layer over RouterCore.
import { chmodSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { z } from 'zod';
import type { AdminListener } from './admin.js';
import type { RouterCore } from './core.js';
import { RouterError } from './errors.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';
import { LimitsSchema } from './limits.js';
import { RoutesSchema, TrustedProxiesSchema } from './route-schema.js';
import { closeAfter, ControlApiError, readBodyCapped } from '../unix-json.js';

const port = z.number().int().min(1).max(65535);
const ms = z.number().int().min(0);

export const RouterAppSchema = z.object({
  name: z.string().min(1),
  listen: z.object({ host: z.string().min(1), port }).nullable(),
  hostnames: z.array(z.string().min(1)),
  pools: z.array(
    z.object({
      name: z.string().min(1),
      weight: z.number().min(0),
      targets: z.array(
        z.object({ id: z.string().min(1), host: z.string().min(1), port, initial: z.enum(['healthy', 'unknown']).optional(), healthPath: z.string().startsWith('/').nullable().optional(), release: z.string().optional() }),
      ),
    }),
  ),
  health: z.object({
    path: z.string().startsWith('/').nullable(),
    intervalMs: z.number().int().min(10),
    timeoutMs: z.number().int().min(1),
    unhealthyThreshold: z.number().int().min(1),
    healthyThreshold: z.number().int().min(1),
  }),
  stickyCookie: z
    .string()
    .regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/, 'must be a cookie name (letters, digits, - _ .)')
    .nullable(),
  drainTimeoutMs: ms,
  unavailableWaitMs: ms,
  routes: RoutesSchema.optional(),
  trustedProxies: TrustedProxiesSchema.optional(),
  limits: LimitsSchema.optional(),
});

const WeightsSchema = z.object({ weights: z.record(z.string(), z.number().min(0)) });
const DrainSchema = z.object({ timeoutMs: ms.optional() });
const EnableSchema = z.object({ healthy: z.boolean().optional() });
const SettingsSchema = z.object({ metricsListen: z.string().nullable() });

/** The body as JSON ({} when empty); over 1 MiB it is refused with 413, unread past the cap. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  let body: Buffer;
  try {
    body = await readBodyCapped(req);
  } catch (e) {
    throw e instanceof ControlApiError ? new RouterError(413, e.message) : e;
  }
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RouterError(400, `body: not JSON (${(e as Error).message})`);
  }
}

function parse<T>(schema: z.ZodType<T>, data: unknown): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const first = r.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`);
  throw new RouterError(400, first.join('; '));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Answers one control request; every error becomes {error} with its status. */
export async function handleControl(core: RouterCore, admin: AdminListener, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://router');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const method = req.method ?? 'GET';
    const route = `${method} /${parts.map((p, i) => (parts[0] === 'apps' && (i === 1 || (i === 3 && parts[2] === 'targets')) ? ':' : p)).join('/')}`;
    const [, app = '', , id = ''] = parts;
    switch (route) {
      case 'GET /state':
        return send(res, 200, { apps: core.view() });
      case 'GET /metrics':
        if (url.searchParams.get('format') === 'prometheus') {
          res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
          res.end(core.prometheus());
          return;
        }
        return send(res, 200, { apps: core.metrics() });
      case 'PUT /settings': {
        const body = parse(SettingsSchema, await readBody(req));
        await admin.set(body.metricsListen);
        return send(res, 200, { ok: true, metricsListen: admin.address });
      }
      case 'PUT /apps/:': {
        const spec = parse(RouterAppSchema, await readBody(req));
        if (spec.name !== app) throw new RouterError(400, `name: "${spec.name}" does not match the app in the path (${app})`);
        await core.upsertApp(spec);
        return send(res, 200, { ok: true });
      }
      case 'DELETE /apps/:':
        await core.removeApp(app);
        return send(res, 200, { ok: true });
      case 'GET /apps/:/traffic':
        return send(res, 200, core.traffic(app));
      case 'POST /apps/:/weights': {
        const body = parse(WeightsSchema, await readBody(req));
        core.setWeights(app, body.weights);
        return send(res, 200, { ok: true });
      }
      case 'POST /apps/:/targets/:/drain': {
        const body = parse(DrainSchema, await readBody(req));
        return send(res, 200, await core.drain(app, id, body.timeoutMs));
      }
      case 'POST /apps/:/targets/:/enable': {
        const body = parse(EnableSchema, await readBody(req));
        core.enable(app, id, body.healthy === true);
        return send(res, 200, { ok: true });
      }
      case 'POST /apps/:/targets/:/down':
        await readBody(req);
        core.markDown(app, id);
        return send(res, 200, { ok: true });
      case 'GET /apps/:/targets/:/wait-healthy': {
        const raw = url.searchParams.get('timeoutMs') ?? '10000';
        const timeoutMs = Number(raw);
        if (!Number.isInteger(timeoutMs) || timeoutMs < 0) throw new RouterError(400, `timeoutMs: "${raw}" is not a whole number of milliseconds`);
        return send(res, 200, await core.waitHealthy(app, id, timeoutMs));
      }
      default:
        throw new RouterError(404, `no such route: ${method} ${url.pathname}`);
    }
  } catch (e) {
    if (e instanceof RouterError) {
      closeAfter(res, e.status);
      return send(res, e.status, { error: e.message });
    }
    send(res, 500, { error: `router: ${(e as Error).message}` });
  }
}

/** Serves the control API on a unix socket (a stale socket file is removed first). */
export async function startControl(core: RouterCore, admin: AdminListener, path: string): Promise<Server> {
  rmSync(path, { force: true });
  const server = createServer((req, res) => void handleControl(core, admin, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // like the daemon's: only its owner may drive the router
  chmodSync(path, 0o600);
  return server;
}
