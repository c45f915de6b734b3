// The hot path: one Exchange per proxied request. It owns an upstream connection while it runs
// (UpstreamOwner), forwards the request head it was given and the body bytes the client
// connection hands it, and streams the response back raw (forward-response.ts), tracking where
// it ends.
import { CLASS_ERROR, statusClass } from '../metrics.js';
import { routedPool } from '../routes.js';
import { cookieValue, hasRoutable, pickPool, pickTarget, stickyCookie, weightedPools } from '../select.js';
import type { AppRt, AvailabilityWaiter, PoolRt, TargetRt } from '../state.js';
import type { ChunkedScanner } from './chunked.js';
import type { ClientConn } from './client-conn.js';
import { responseData } from './forward-response.js';
import { Body } from './parse-response.js';
import { Failure, HEADERS_TIMEOUT, classifyFailure, idempotent } from './retry.js';
import { gatewayResponse } from './router-responses.js';
import type { Upstream, UpstreamOwner } from './upstream-pool.js';

/** What an Exchange needs from the router core. */
export interface ProxyContext {
  random(): number;
  now(): number;
  readonly maxAttempts: number;
  /** passive health: a connect to the target failed */
  markUnhealthy(app: AppRt, target: TargetRt, reason: string): void;
}

/** request body bytes buffered before a target connection is ready, before the client is paused */
const MAX_PENDING = 64 * 1024;

/**
 * Members without `private` beyond the UpstreamOwner / AvailabilityWaiter / ClientConn calls are
 * the response side's state, shared with forward-response.ts only.
 */
export class Exchange implements UpstreamOwner, AvailabilityWaiter {
  /** the target of the current attempt (holds one of its in-flight slots) */
  target: TargetRt | null = null;
  private lastTarget: TargetRt | null = null;
  private lastPool: PoolRt | null = null;
  /** a target to avoid on the next attempt (its connection broke) */
  private exclude: TargetRt | null = null;
  private attempts = 0;
  up: Upstream | null = null;
  /** the request head went to the current upstream */
  private sent = false;
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  /** the client sent the whole request body */
  reqComplete: boolean;
  headSent = false;
  status = 0;
  body = Body.None;
  left = 0;
  chunks: ChunkedScanner | null = null;
  /** the upstream connection can serve another request after this one */
  upKeep = false;
  upPaused = false;
  respBuf: Buffer | null = null;
  /** close the client connection after the response */
  closeClient: boolean;
  private finished = false;
  private clientGone = false;
  setCookie: string | null = null;
  /** the pool of the header/cookie route the request matched (set by the client connection), or null */
  routePool: string | null = null;
  private waitUntil = -1;
  private waitTimer: NodeJS.Timeout | null = null;
  private readonly t0: number;
  readonly isHead: boolean;
  private readonly retryable: boolean;
  /** an Upgrade request: a 101 turns the connection into a tunnel */
  readonly upgrade: boolean;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly app: AppRt,
    readonly conn: ClientConn,
    private readonly head: string,
    method: string,
    private readonly hasBody: boolean,
    private readonly cookie: string | null,
    readonly http10: boolean,
    close: boolean,
    upgrade: boolean,
  ) {
    this.t0 = ctx.now();
    this.isHead = method === 'HEAD';
    this.retryable = !hasBody && idempotent(method);
    this.reqComplete = !hasBody;
    this.upgrade = upgrade;
    // a target that does not answer 101 has seen Connection: upgrade: no further request here
    this.closeClient = close || upgrade;
  }

  /** Picks a pool and a target and sends the request there, or holds it until one is available. */
  route(): void {
    if (this.finished) return;
    const app = this.app;
    // a routed request goes to its pool whatever the weights and never touches the sticky cookie
    const routed = this.routePool === null ? null : routedPool(app, this.routePool);
    if (routed !== null) {
      this.setCookie = null;
      return this.dispatch(routed, pickTarget(routed, this.exclude) ?? pickTarget(routed, null)!);
    }
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

  /** Whether route() would find a target now (its routed pool, or one by weight). */
  private anyRoutable(): boolean {
    if (this.routePool !== null && routedPool(this.app, this.routePool) !== null) return true;
    return this.pickPool(this.app.pools, this.app.weights) !== -1;
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
    this.sent = false;
    t.inFlight++;
    const up = t.upstreams.acquire(this);
    this.up = up;
    if (up.connected) this.send();
  }

  private send(): void {
    const up = this.up!;
    const s = up.socket;
    this.sent = true;
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      this.pendingBytes = 0;
      s.cork();
      s.write(this.head, 'latin1');
      let ok = true;
      for (const b of pending) ok = s.write(b);
      s.uncork();
      if (ok) this.conn.resumeBody();
    } else {
      s.write(this.head, 'latin1');
    }
    // the response-head timeout runs from the end of the request (see reqEnd)
    if (this.reqComplete) up.armHeadTimeout();
  }

  // ---- the request body (from the client connection) ----

  reqData(chunk: Buffer): void {
    if (this.finished) return;
    const up = this.up;
    if (up !== null && this.sent) {
      if (!up.socket.write(chunk)) this.conn.pauseBody();
      return;
    }
    (this.pending ??= []).push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes > MAX_PENDING) this.conn.pauseBody();
  }

  reqEnd(): void {
    this.reqComplete = true;
    if (this.sent && this.up !== null && !this.headSent) this.up.armHeadTimeout();
  }

  // ---- holding for an available target ----

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

  private stopWaiting(): void {
    if (this.waitTimer !== null) {
      clearTimeout(this.waitTimer);
      this.waitTimer = null;
    }
    this.app.waiters.delete(this);
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
    this.finished = true;
    this.stopWaiting();
    const up = this.up;
    this.up = null;
    if (up !== null) up.destroy();
    this.releaseTarget();
  }

  onClientDrain(): void {
    if (this.upPaused) {
      this.upPaused = false;
      this.up?.socket.resume();
    }
  }

  // ---- the upstream connection ----

  onUpConnect(): void {
    if (!this.sent && this.up !== null) this.send();
  }

  onUpDrain(): void {
    this.conn.resumeBody();
  }

  onUpData(chunk: Buffer): void {
    responseData(this, chunk);
  }

  /** The response was forwarded to its end. */
  complete(): void {
    const up = this.up;
    this.up = null;
    if (up !== null) {
      if (this.upKeep && this.reqComplete && !up.dead) up.pool.release(up);
      else up.destroy();
    }
    this.releaseTarget();
    this.finish(statusClass(this.status));
    this.conn.responseDone(this.closeClient);
  }

  onUpEnd(): void {
    if (this.headSent && this.body === Body.Close) {
      this.body = Body.None;
      this.upKeep = false;
      return this.complete();
    }
    this.upFailed('EOF', 'the target closed the connection');
  }

  onUpClose(err: NodeJS.ErrnoException | null): void {
    this.upFailed(err?.code ?? 'ECONNRESET', err?.message ?? 'the connection closed');
  }

  onUpHeadTimeout(): void {
    this.upFailed(HEADERS_TIMEOUT, 'no response head in time');
  }

  /** The target sent something that is not HTTP/1.1 after the head: cut both connections. */
  broken(): void {
    const up = this.up;
    this.up = null;
    up?.destroy();
    this.releaseTarget();
    this.finish(CLASS_ERROR);
    this.conn.destroy();
  }

  upFailed(code: string, message: string): void {
    const up = this.up;
    this.up = null;
    if (up !== null) up.destroy();
    if (this.finished) return;
    const t = this.releaseTarget();
    if (this.headSent) {
      // the response is half sent: cut the client's connection so it sees the failure
      this.finish(CLASS_ERROR);
      this.conn.destroy();
      return;
    }
    if (t !== null && up !== null && this.respBuf === null) {
      // a failed connect (nothing reached the target and the body bytes are all still in
      // pending: any method may go elsewhere) or a stale kept-alive connection (see retry.ts)
      const failure = classifyFailure(code, up, this.retryable);
      if (failure !== Failure.Final) {
        const connectFailed = failure === Failure.Connect;
        if (connectFailed) this.ctx.markUnhealthy(this.app, t, `${code}: ${message}`);
        else this.exclude = t;
        if (this.attempts < this.ctx.maxAttempts) {
          // a non-idempotent request is not held for a target to come up: 502 when none is left
          if (connectFailed && !this.retryable && !this.anyRoutable()) return this.respond(502);
          this.sent = false;
          return this.route();
        }
      }
    }
    this.respond(code === HEADERS_TIMEOUT ? 504 : 502);
  }

  /** A response the router makes itself (502/503/504). */
  private respond(status: 502 | 503 | 504): void {
    if (this.finished) return;
    this.stopWaiting();
    const close = this.closeClient || !this.reqComplete || this.conn.closing();
    this.conn.socket.write(gatewayResponse(status, close), 'latin1');
    this.finish(CLASS_ERROR);
    this.conn.responseDone(close);
  }

  finish(cls: number): void {
    if (this.finished) return;
    this.finished = true;
    const ms = this.ctx.now() - this.t0;
    const pool = this.lastPool ?? this.app.pools[0] ?? null;
    if (pool !== null) {
      pool.traffic.record(cls, ms);
      pool.samples.record(ms);
    }
    if (this.lastTarget !== null) this.lastTarget.traffic.record(cls, ms);
  }
}
