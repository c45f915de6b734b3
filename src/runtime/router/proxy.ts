// The hot path: one Exchange per proxied request. It is its own undici dispatch handler (the
// controller API), so a request costs one object plus undici's; no closures are made per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { responseHeaders } from './headers.js';
import { CLASS_ERROR, statusClass } from './metrics.js';
import { cookieValue, hasRoutable, pickPool, pickTarget, stickyCookie, weightedPools } from './select.js';
import type { AppRt, AvailabilityWaiter, PoolRt, TargetRt } from './state.js';

/** What an Exchange needs from the router core. */
export interface ProxyContext {
  random(): number;
  now(): number;
  readonly maxAttempts: number;
  /** passive health: a connect to the target failed */
  markUnhealthy(app: AppRt, target: TargetRt, reason: string): void;
}

const kExchange = Symbol('exchange');
type Res = ServerResponse & { [kExchange]?: Exchange };

const CLIENT_GONE = new Error('client went away');

/** Connect failures: the target is not there; mark it unhealthy and retry elsewhere. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);
/** The connection broke before any response byte (e.g. a kept-alive socket the target closed): retry elsewhere. */
const RESETS = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

function idempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true;
    default:
      return false;
  }
}

function onResClose(this: Res): void {
  this[kExchange]?.clientClosed();
}

/** Lets a response that did not end in the tick its headers arrived stream on. */
function uncorkRes(res: ServerResponse): void {
  if (!res.writableEnded) res.uncork();
}

function onResDrain(this: Res): void {
  this[kExchange]?.controller?.resume();
}

/** Proxies one request of `app` (headers already rewritten by forwardHeaders). */
export function proxyRequest(ctx: ProxyContext, app: AppRt, req: IncomingMessage, res: ServerResponse, headers: string[], hasBody: boolean, cookie: string | null): void {
  const ex = new Exchange(ctx, app, req, res, headers, hasBody, cookie);
  (res as Res)[kExchange] = ex;
  res.on('close', onResClose);
  ex.route();
}

const BODIES: Record<number, string> = { 502: 'bad gateway: the target did not answer\n', 503: 'service unavailable: no target is available\n', 504: 'gateway timeout: the target did not answer in time\n' };

export class Exchange implements Dispatcher.DispatchHandler, AvailabilityWaiter {
  controller: Dispatcher.DispatchController | null = null;
  /** the target of the current attempt (holds one of its in-flight slots) */
  private target: TargetRt | null = null;
  private lastTarget: TargetRt | null = null;
  private lastPool: PoolRt | null = null;
  /** a target to avoid on the next attempt (its connection broke) */
  private exclude: TargetRt | null = null;
  private attempts = 0;
  private status = 0;
  private headersSent = false;
  private finished = false;
  private clientGone = false;
  private setCookie: string | null = null;
  private waitUntil = -1;
  private waitTimer: NodeJS.Timeout | null = null;
  private readonly t0: number;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly app: AppRt,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly headers: string[],
    private readonly hasBody: boolean,
    private readonly cookie: string | null,
  ) {
    this.t0 = ctx.now();
  }

  /** Picks a pool and a target and sends the request there, or holds it until one is available. */
  route(): void {
    if (this.finished) return;
    const app = this.app;
    const weights = app.weights;
    const pools = app.pools;
    let pi: number;
    const cookieName = app.spec.stickyCookie;
    if (cookieName !== null && weightedPools(weights) > 1) {
      const want = cookieValue(this.cookie, cookieName);
      const wi = want === null ? -1 : app.poolIndex(want);
      if (wi !== -1 && (weights[wi] ?? 0) > 0 && hasRoutable(pools[wi]!, null)) {
        pi = wi;
      } else {
        pi = this.pickPool(pools, weights);
        if (pi !== -1) this.setCookie = stickyCookie(cookieName, pools[pi]!.name);
      }
    } else {
      pi = this.pickPool(pools, weights);
    }
    if (pi === -1) return this.hold();
    const pool = pools[pi]!;
    const t = pickTarget(pool, this.exclude) ?? pickTarget(pool, null)!;
    this.dispatch(pool, t);
  }

  private pickPool(pools: PoolRt[], weights: number[]): number {
    const pi = pickPool(pools, weights, this.ctx.random(), this.exclude);
    if (pi !== -1 || this.exclude === null) return pi;
    // the only routable target is the one whose connection just broke: try it again
    this.exclude = null;
    return pickPool(pools, weights, this.ctx.random(), null);
  }

  private dispatch(pool: PoolRt, t: TargetRt): void {
    if (this.waitTimer !== null) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
    }
    this.attempts++;
    this.target = t;
    this.lastTarget = t;
    this.lastPool = pool;
    this.controller = null;
    t.inFlight++;
    const req = this.req;
    t.dispatcher.dispatch({ path: req.url!, method: req.method!, headers: this.headers, body: this.hasBody ? req : null }, this);
  }

  /** No routable target: wait (up to app.unavailableWaitMs from the first wait) for one, then 503. */
  private hold(): void {
    if (this.clientGone) return;
    const now = this.ctx.now();
    if (this.waitUntil < 0) this.waitUntil = now + this.app.spec.unavailableWaitMs;
    const left = this.waitUntil - now;
    if (left <= 0 || this.app.removed) return this.respond(503);
    this.app.waiters.add(this);
    if (this.waitTimer === null) {
      this.waitTimer = setTimeout(() => {
        this.waitTimer = null;
        this.app.waiters.delete(this);
        if (this.target === null) this.respond(503);
      }, left);
    }
  }

  wake(): void {
    if (this.target === null) this.route();
  }

  private releaseTarget(): TargetRt | null {
    const t = this.target;
    if (t !== null) {
      this.target = null;
      t.release();
    }
    return t;
  }

  /** The client's connection closed before the response was finished. */
  clientClosed(): void {
    if (this.finished) return;
    this.clientGone = true;
    this.stopWaiting();
    if (this.target === null) {
      this.finished = true;
    } else if (this.controller !== null) {
      this.controller.abort(CLIENT_GONE);
    }
    // else: undici has not started it yet; onRequestStart aborts it
  }

  private stopWaiting(): void {
    if (this.waitTimer !== null) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
    }
    this.app.waiters.delete(this);
  }

  // ---- undici handler (controller API) ----

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(CLIENT_GONE);
  }

  onResponseStart(controller: Dispatcher.DispatchController, statusCode: number): void {
    if (statusCode < 200 || this.clientGone) return;
    const h = responseHeaders((controller.rawHeaders as Buffer[] | null) ?? []);
    if (this.setCookie !== null) h.push('set-cookie', this.setCookie);
    this.status = statusCode;
    this.headersSent = true;
    // headers, a small body and the end usually arrive in one read: send them in one write
    this.res.cork();
    process.nextTick(uncorkRes, this.res);
    this.res.writeHead(statusCode, h);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', onResDrain);
    }
  }

  onResponseEnd(): void {
    this.releaseTarget();
    if (this.clientGone) {
      this.finished = true;
      return;
    }
    this.res.end();
    this.finish(statusClass(this.status));
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    const t = this.releaseTarget();
    if (this.finished) return;
    if (this.clientGone) {
      this.finished = true;
      return;
    }
    if (this.headersSent) {
      // the response is half sent: cut the client's connection so it sees the failure
      this.finish(CLASS_ERROR);
      this.res.destroy(err);
      return;
    }
    const code = (err as { code?: string }).code ?? '';
    if (t !== null && !this.hasBody && idempotent(this.req.method!)) {
      const connectFailed = CONNECT_FAILURES.has(code);
      if (connectFailed || RESETS.has(code)) {
        if (connectFailed) this.ctx.markUnhealthy(this.app, t, `${code}: ${err.message}`);
        else this.exclude = t;
        if (this.attempts < this.ctx.maxAttempts) return this.route();
      }
    }
    this.respond(code === 'UND_ERR_HEADERS_TIMEOUT' ? 504 : 502);
  }

  /** A response the router makes itself (502/503/504). */
  private respond(status: 502 | 503 | 504): void {
    if (this.finished) return;
    this.stopWaiting();
    const body = BODIES[status]!;
    const h = ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body))];
    if (status === 503) h.push('retry-after', '1');
    this.res.writeHead(status, h);
    this.res.end(body);
    this.finish(CLASS_ERROR);
  }

  private finish(cls: number): void {
    if (this.finished) return;
    this.finished = true;
    const ms = this.ctx.now() - this.t0;
    const pool = this.lastPool ?? this.app.pools[0] ?? null;
    if (pool !== null) pool.traffic.record(cls, ms);
    if (this.lastTarget !== null) this.lastTarget.traffic.record(cls, ms);
  }
}
