// The hot path: one Exchange per proxied request. It owns an upstream connection while it runs
// (UpstreamOwner), forwards the request head it was given and the body bytes the client
// connection hands it, and streams the response back raw, tracking where it ends.
import { CLASS_ERROR, statusClass } from '../metrics.js';
import { cookieValue, hasRoutable, pickPool, pickTarget, stickyCookie, weightedPools } from '../select.js';
import type { AppRt, AvailabilityWaiter, PoolRt, TargetRt } from '../state.js';
import { CHUNK_BAD, CHUNK_MORE, ChunkedScanner } from './chunked.js';
import type { ClientConn } from './client-conn.js';
import { MAX_HEAD, type RequestHead } from './parse-request.js';
import { Body, newResponseHead, parseResponseHead, rewriteHead, rewriteHeadWithBody } from './parse-response.js';
import type { Upstream, UpstreamOwner } from './upstream-pool.js';

/** What an Exchange needs from the router core. */
export interface ProxyContext {
  random(): number;
  now(): number;
  readonly maxAttempts: number;
  /** passive health: a connect to the target failed */
  markUnhealthy(app: AppRt, target: TargetRt, reason: string): void;
}

/** Connect failures: the target is not there; mark it unhealthy and retry elsewhere. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);
/** The connection broke before any response byte (e.g. a kept-alive socket the target closed): retry elsewhere. */
const RESETS = new Set(['ECONNRESET', 'EPIPE', 'EOF']);
const HEADERS_TIMEOUT = 'HEADERS_TIMEOUT';

export function idempotent(method: string): boolean {
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

const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
/** request body bytes buffered before a target connection is ready, before the client is paused */
const MAX_PENDING = 64 * 1024;
/** a rewritten head and up to this much body are copied into one buffer (one write) */
const COALESCE = 16 * 1024;

// scratch: a response head is parsed and used synchronously
const R = newResponseHead();

const REASONS: Record<number, string> = { 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
const BODIES: Record<number, string> = { 502: 'bad gateway: the target did not answer\n', 503: 'service unavailable: no target is available\n', 504: 'gateway timeout: the target did not answer in time\n' };

/** The request head to send upstream. */
export function upstreamHead(h: RequestHead, clientIp: string): string {
  const xff = h.xff === null ? clientIp : `${h.xff}, ${clientIp}`;
  const fh = h.host === null ? '' : `X-Forwarded-Host: ${h.host}\r\n`;
  const conn = h.upgrade !== null ? `Upgrade: ${h.upgrade}\r\nConnection: upgrade\r\n` : h.http10 ? 'Connection: close\r\n' : 'Connection: keep-alive\r\n';
  return `${h.method} ${h.target} HTTP/1.${h.http10 ? 0 : 1}\r\n${h.fwd}X-Forwarded-For: ${xff}\r\nX-Forwarded-Proto: http\r\n${fh}${conn}\r\n`;
}

export class Exchange implements UpstreamOwner, AvailabilityWaiter {
  /** the target of the current attempt (holds one of its in-flight slots) */
  private target: TargetRt | null = null;
  private lastTarget: TargetRt | null = null;
  private lastPool: PoolRt | null = null;
  /** a target to avoid on the next attempt (its connection broke) */
  private exclude: TargetRt | null = null;
  private attempts = 0;
  private up: Upstream | null = null;
  /** the request head went to the current upstream */
  private sent = false;
  private pending: Buffer[] | null = null;
  private pendingBytes = 0;
  /** the client sent the whole request body */
  private reqComplete: boolean;
  private headSent = false;
  private status = 0;
  private body = Body.None;
  private left = 0;
  private chunks: ChunkedScanner | null = null;
  /** the upstream connection can serve another request after this one */
  private upKeep = false;
  private upPaused = false;
  private respBuf: Buffer | null = null;
  /** close the client connection after the response */
  private closeClient: boolean;
  private finished = false;
  private clientGone = false;
  private setCookie: string | null = null;
  private waitUntil = -1;
  private waitTimer: NodeJS.Timeout | null = null;
  private readonly t0: number;
  private readonly isHead: boolean;
  private readonly retryable: boolean;
  /** an Upgrade request: a 101 turns the connection into a tunnel */
  private readonly upgrade: boolean;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly app: AppRt,
    private readonly conn: ClientConn,
    private readonly head: string,
    method: string,
    private readonly hasBody: boolean,
    private readonly cookie: string | null,
    private readonly http10: boolean,
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
    if (this.headSent) return this.onBody(chunk, 0);
    let data = chunk;
    if (this.respBuf !== null) {
      data = Buffer.concat([this.respBuf, chunk]);
      this.respBuf = null;
    }
    let pos = 0;
    for (;;) {
      const idx = data.indexOf(CRLF2, pos);
      if (idx === -1) {
        if (data.length - pos > MAX_HEAD) return this.upFailed('EPROTO', 'response head too large');
        // a copy: data may be the connection's read buffer
        this.respBuf = Buffer.from(data.subarray(pos));
        return;
      }
      if (!parseResponseHead(data, pos, idx, this.isHead, R)) return this.upFailed('EPROTO', 'invalid response head');
      if (R.status === 101) {
        if (this.upgrade) return this.tunnel(data, pos);
        return this.upFailed('EPROTO', 'invalid response head');
      }
      if (R.status >= 200) break;
      // 1xx (100 Continue, 103 Early Hints): pass on, the final response follows
      if (!this.http10) {
        const sock = this.conn.socket;
        sock.write(data.subarray(pos, idx + 4));
        if (sock.writableLength > 0) this.up!.held = true;
      }
      pos = idx + 4;
      if (pos === data.length) return;
    }
    this.up!.clearHeadTimeout();
    this.headSent = true;
    this.status = R.status;
    this.body = R.body;
    this.left = R.length;
    this.upKeep = !R.close && !this.upgrade;
    if (R.body === Body.Close) this.closeClient = true;
    let extra = '';
    if (this.setCookie !== null) extra = `Set-Cookie: ${this.setCookie}\r\n`;
    // an early response (the request body is not all here): the connection closes after it
    if (this.closeClient || !this.reqComplete || this.conn.closing()) {
      this.closeClient = true;
      extra += 'Connection: close\r\n';
    }
    const bodyStart = R.end + 4;
    const endIdx = this.bodyEnd(data, bodyStart);
    if (endIdx === CHUNK_BAD) return this.broken();
    const sock = this.conn.socket;
    let ok: boolean;
    if (extra === '' && R.drops.length === 0) {
      ok = sock.write(pos === 0 && endIdx === data.length ? data : data.subarray(pos, endIdx));
    } else {
      const n = endIdx - bodyStart;
      if (n <= COALESCE) {
        ok = sock.write(rewriteHeadWithBody(data, pos, R, extra, bodyStart, endIdx));
      } else {
        const h = rewriteHead(data, pos, R, extra);
        sock.cork();
        sock.write(h, 'latin1');
        ok = sock.write(data.subarray(bodyStart, endIdx));
        sock.uncork();
      }
    }
    this.afterWrite(ok, data, endIdx);
  }

  /** The target accepted the upgrade (101): its head and what follows go to the client, then a tunnel. */
  private tunnel(data: Buffer, pos: number): void {
    const up = this.up!;
    this.up = null;
    up.clearHeadTimeout();
    this.headSent = true;
    this.status = 101;
    const t = this.target!;
    // the tunnel holds the in-flight slot while it is open
    this.target = null;
    this.finish(statusClass(101));
    const sock = this.conn.socket;
    sock.write(pos === 0 ? data : data.subarray(pos));
    if (sock.writableLength > 0) up.held = true;
    this.conn.upgraded(up, t);
  }

  private onBody(data: Buffer, start: number): void {
    const endIdx = this.bodyEnd(data, start);
    if (endIdx === CHUNK_BAD) return this.broken();
    const ok = this.conn.socket.write(start === 0 && endIdx === data.length ? data : data.subarray(start, endIdx));
    this.afterWrite(ok, data, endIdx);
  }

  /**
   * Where the response ends in data[start..]: data.length when it goes on (this.left/this.chunks
   * updated), less when it ended there (this.body set to None), or CHUNK_BAD.
   */
  private bodyEnd(data: Buffer, start: number): number {
    const len = data.length;
    switch (this.body) {
      case Body.None:
        return start;
      case Body.Length: {
        const n = Math.min(this.left, len - start);
        this.left -= n;
        if (this.left === 0) this.body = Body.None;
        return start + n;
      }
      case Body.Chunked: {
        const r = (this.chunks ??= new ChunkedScanner()).scan(data, start, len);
        if (r === CHUNK_BAD) return CHUNK_BAD;
        if (r === CHUNK_MORE) return len;
        this.body = Body.None;
        return r;
      }
      case Body.Close:
        return len;
    }
  }

  private afterWrite(ok: boolean, data: Buffer, endIdx: number): void {
    // a write still queued refers to data (the connection's read buffer): reads go elsewhere now
    if (this.conn.socket.writableLength > 0 && this.up !== null) this.up.held = true;
    if (this.body === Body.None) {
      // bytes after the end of the response: the connection is out of step, do not reuse it
      if (endIdx < data.length) this.upKeep = false;
      return this.complete();
    }
    if (!ok && !this.upPaused && this.up !== null) {
      this.upPaused = true;
      this.up.socket.pause();
      this.conn.waitDrain();
    }
  }

  /** The response was forwarded to its end. */
  private complete(): void {
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
  private broken(): void {
    const up = this.up;
    this.up = null;
    up?.destroy();
    this.releaseTarget();
    this.finish(CLASS_ERROR);
    this.conn.destroy();
  }

  private upFailed(code: string, message: string): void {
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
      // never connected: nothing reached the target and the body bytes are all still in pending,
      // so any method may go elsewhere
      const connectFailed = !up.connected && CONNECT_FAILURES.has(code);
      // a reset or EOF before any response byte: retried only for an idempotent request on a
      // kept-alive connection (the target closed it idle); on a fresh connection the target got
      // the request and may have died of it
      const staleReuse = this.retryable && up.reused && RESETS.has(code);
      if (connectFailed || staleReuse) {
        if (connectFailed) this.ctx.markUnhealthy(this.app, t, `${code}: ${message}`);
        else this.exclude = t;
        if (this.attempts < this.ctx.maxAttempts) {
          // a non-idempotent request is not held for a target to come up: 502 when none is left
          if (connectFailed && !this.retryable && this.pickPool(this.app.pools, this.app.weights) === -1) return this.respond(502);
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
    const body = BODIES[status]!;
    const close = this.closeClient || !this.reqComplete || this.conn.closing();
    this.conn.socket.write(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}${close ? 'connection: close\r\n' : ''}\r\n${body}`,
      'latin1',
    );
    this.finish(CLASS_ERROR);
    this.conn.responseDone(close);
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
