// One client connection: finds each request head in the socket's bytes, routes it (Host → app),
// hands it to an Exchange and passes the body bytes on while tracking where the body ends.
// Requests are handled one at a time, in order: bytes of a pipelined next request wait.
import type { BlockList, Socket } from 'node:net';
import { inList } from '../../../util/cidr.js';
import { matchRoute, routesHeaderIn } from '../routes.js';
import type { Listener } from '../server.js';
import type { TargetRt } from '../state.js';
import { CHUNK_BAD, CHUNK_MORE, ChunkedScanner } from './chunked.js';
import { closed, holdHead, plain, refuse, releaseHead, shut, St, sweep, upgraded } from './client-lifetime.js';
import { Exchange } from './exchange.js';
import { bareLineEnd, MAX_HEAD, newRequestHead, parseRequestHead } from './parse-request.js';
import { upstreamHead } from './upstream-head.js';
import type { Upstream } from './upstream-pool.js';

const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
/** buf after blank lines only: a head has begun (its deadline runs) but has no byte yet */
const EMPTY = Buffer.alloc(0);
/** router-made responses queued for a client beyond this: stop reading until they drain */
const MAX_QUEUED = 64 * 1024;

// scratch: a head is parsed and used synchronously
const H = newRequestHead();

const enum Framing {
  None,
  Length,
  Chunked,
}

/**
 * Members without `private` beyond the calls from the listener and the exchange are the
 * connection's state, shared with client-lifetime.ts only.
 */
export class ClientConn {
  st = St.Head;
  /** bytes received and not yet handled */
  buf: Buffer | null = null;
  /** owns the bytes of buf when they came in several pieces (see append) */
  store: Buffer | null = null;
  private storeEnd = 0;
  /** the CRLFCRLF search in buf may start here */
  private scanFrom = 0;
  ex: Exchange | null = null;
  private framing = Framing.None;
  private left = 0;
  private chunks: ChunkedScanner | null = null;
  /** reading is paused because: the request body waits for the target / we wait for a response */
  bodyPaused = false;
  waitPaused = false;
  /** router-made responses are queued (the client does not read them): wait for 'drain' */
  drainPaused = false;
  private drainWanted = false;
  /** the listener's clock when the connection entered St.Closed */
  closedAt = 0;
  /** (St.Closed) the sweep's clock when it first saw all of our writes handed to the kernel, or -1 */
  flushedAt = -1;
  /** the client sent its EOF */
  ended = false;
  private trustList: BlockList | null = null;
  private trusted = false;
  /** the listener's clock when bytes last came (idle connections are closed by Listener's sweep) */
  lastAt: number;
  /** the listener's clock when the bytes in buf began to arrive */
  headAt = 0;
  /** bytes of an unfinished head counted in the listener's headMemory */
  headHeld = 0;
  /** (sweep) bytes the client had taken (written out of the socket's queue) at the last sweep, and since when none were (or -1) */
  sentSeen = 0;
  stallSince = -1;
  /** heads() is running (a response that ends synchronously must not re-enter it) */
  private inHeads = false;

  constructor(
    readonly socket: Socket,
    readonly listener: Listener,
    /** the client's address */
    readonly ip: string,
  ) {
    this.lastAt = listener.clock;
    socket.on('data', (c: Buffer) => this.onData(c));
    socket.on('end', () => this.onEnd());
    socket.on('drain', () => this.onDrain());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => closed(this));
  }

  /** Whether the client is in `list` (an app's trusted proxies): looked up once per connection and list. */
  private trusts(list: BlockList | null): boolean {
    if (list !== this.trustList) {
      this.trustList = list;
      this.trusted = list !== null && inList(list, this.ip);
    }
    return this.trusted;
  }

  /** The listener is closing: no further request on this connection. */
  closing(): boolean {
    return this.listener.isClosing();
  }

  /** Closes the connection now if it has no request in progress. */
  closeIfIdle(): void {
    if (this.idle()) this.socket.destroy();
  }

  destroy(): void {
    // not a reset: after our FIN, data still in the kernel's send buffer (a slow reader) must
    // still arrive; a client that lingers and writes gets a reset from the kernel anyway
    this.socket.destroy();
  }

  /** Whether it has no request in progress. */
  idle(): boolean {
    return this.ex === null && this.st === St.Head;
  }

  /** (Listener's sweep) Closes it, or answers 408, when it is past a deadline (client-lifetime.ts). */
  sweep(now: number): void {
    sweep(this, now);
  }

  private onData(chunk: Buffer): void {
    const now = this.listener.clock;
    this.lastAt = now;
    if (this.buf === null) this.headAt = now;
    if (this.st === St.Body) return this.body(chunk, 0);
    if (this.st === St.Closed) return;
    this.append(chunk);
    if (this.st === St.Head) this.heads();
    else if (this.buf !== null && this.buf.length > MAX_HEAD && !this.waitPaused) {
      // a pipelined request waits for the current response: stop reading for now
      this.waitPaused = true;
      this.socket.pause();
    }
  }

  /**
   * Adds bytes to buf. A head that arrives in many pieces is gathered in a store that doubles as
   * it fills, so a client sending byte by byte costs linear time, not quadratic.
   */
  private append(chunk: Buffer): void {
    const b = this.buf;
    if (b === null || b.length === 0) {
      this.buf = chunk;
      this.scanFrom = 0;
      return;
    }
    const store = this.store;
    const n = chunk.length;
    if (store !== null && b.buffer === store.buffer && b.byteOffset + b.length === this.storeEnd && this.storeEnd + n <= store.length) {
      chunk.copy(store, this.storeEnd);
      this.storeEnd += n;
      this.buf = store.subarray(b.byteOffset, this.storeEnd);
      return;
    }
    const total = b.length + n;
    const next = Buffer.allocUnsafeSlow(Math.max(total * 2, 16 * 1024));
    b.copy(next, 0);
    chunk.copy(next, b.length);
    this.store = next;
    this.storeEnd = total;
    this.buf = next.subarray(0, total);
  }

  /** Handles the request heads in buf, one at a time, until one needs to wait for its response. */
  private heads(): void {
    if (this.inHeads) return;
    this.inHeads = true;
    try {
      this.headLoop();
    } finally {
      this.inHeads = false;
    }
  }

  private headLoop(): void {
    while (this.st === St.Head && this.buf !== null) {
      // responses queue up unread (pipelined requests): read no more until they drain
      if (this.socket.writableLength > MAX_QUEUED) {
        this.drainPaused = true;
        this.socket.pause();
        return;
      }
      let buf = this.buf;
      // CRLFs before a request line are ignored (RFC 9112 §2.2)
      let s = 0;
      while (s < buf.length && (buf[s] === 13 || buf[s] === 10)) s++;
      if (s > 0) {
        if (s === buf.length) {
          // not null: the head deadline keeps running (a CRLF trickle does not keep it open)
          this.buf = EMPTY;
          this.store = null;
          if (this.headHeld !== 0) releaseHead(this);
          if (this.ended) shut(this);
          return;
        }
        buf = buf.subarray(s);
        this.buf = buf;
        this.scanFrom = 0;
      }
      const idx = buf.indexOf(CRLF2, this.scanFrom);
      if (idx === -1) {
        if (buf.length > MAX_HEAD) return refuse(this, 431, 'request head larger than 64 KiB');
        // a head with bare LF (or CR) line ends would never end for us: refuse it now
        if (bareLineEnd(buf, this.scanFrom)) return refuse(this, 400, 'a line of the head does not end in CRLF');
        // what an unfinished head holds is bounded across the listener's connections
        if (!holdHead(this, this.store !== null ? this.store.length : buf.length)) return refuse(this, 431, 'too many unfinished request heads (router.max_head_memory)');
        this.scanFrom = Math.max(0, buf.length - 3);
        // the client is done sending: no complete request is left
        if (this.ended) shut(this);
        return;
      }
      if (idx + 4 > MAX_HEAD) return refuse(this, 431, 'request head larger than 64 KiB');
      const status = parseRequestHead(buf, idx, H);
      if (status !== 0) return refuse(this, status, H.error);
      if (this.headHeld !== 0) releaseHead(this);
      const rest = idx + 4;
      this.buf = rest < buf.length ? buf.subarray(rest) : null;
      if (this.buf === null) this.store = null;
      this.scanFrom = 0;
      const app = this.listener.resolve(H.host);
      const hasBody = H.chunked || H.contentLength > 0;
      if (app === null) {
        if (hasBody) return refuse(this, 404, 'no app serves this host', 'not found: no app serves this host\n');
        plain(this, 404, 'not found: no app serves this host\n', H.close);
        continue;
      }
      if (H.target.charCodeAt(0) !== 47 /* / */ && H.target !== '*') return refuse(this, 400, 'the request target must be a path', 'bad request: the request target must be a path\n');
      if (H.named !== null && app.routes !== null && routesHeaderIn(app.routes, H.named)) return refuse(this, 400, 'the Connection header names a header this app routes by');
      // an Upgrade request is an exchange too: the client's further bytes wait in buf (St.Wait)
      // until the target answers; a 101 hands the connection to a Tunnel (upgraded())
      const ex = new Exchange(this.listener.ctx, app, this, upstreamHead(H, this.ip, this.trusts(app.trusted)), H.method, hasBody, H.cookie, H.http10, H.close || (this.ended && !this.moreHeads()), H.upgrade !== null);
      if (app.routes !== null) ex.routePool = matchRoute(app.routes, H.fwd, H.cookie);
      this.ex = ex;
      if (hasBody) {
        this.st = St.Body;
        if (H.chunked) {
          this.framing = Framing.Chunked;
          (this.chunks ??= new ChunkedScanner()).reset();
        } else {
          this.framing = Framing.Length;
          this.left = H.contentLength;
        }
      } else {
        this.st = St.Wait;
      }
      ex.route();
      if (this.st === St.Body && this.buf !== null) {
        const b = this.buf;
        this.buf = null;
        this.body(b, 0);
      }
    }
    if (this.ended && this.st === St.Head && this.buf === null) shut(this);
  }

  /** (the client ended) whether buf may hold another complete request head */
  private moreHeads(): boolean {
    return this.buf !== null && this.buf.indexOf(CRLF2) !== -1;
  }

  /**
   * The target answered 101 to the current (Upgrade) request: the connection leaves HTTP and
   * becomes a tunnel to `up`, which gets the bytes the client sent since.
   */
  upgraded(up: Upstream, target: TargetRt): void {
    upgraded(this, up, target);
  }


  /** Request body bytes: to the exchange up to the end of the body; what follows is kept. */
  private body(chunk: Buffer, start: number): void {
    const len = chunk.length;
    let end: number;
    if (this.framing === Framing.Length) {
      end = start + Math.min(this.left, len - start);
      this.left -= end - start;
    } else {
      const r = this.chunks!.scan(chunk, start, len);
      if (r === CHUNK_BAD) {
        // a smuggling attempt or garbage: nothing after this can be trusted. The target's
        // connection goes; the client gets a 400 unless part of a response went out already
        const ex = this.ex;
        if (ex !== null && !ex.headSent) {
          this.ex = null;
          ex.clientClosed();
        }
        return refuse(this, 400, 'invalid chunked framing');
      }
      end = r === CHUNK_MORE ? len : r;
      if (r !== CHUNK_MORE) this.left = 0;
      else this.left = 1;
    }
    if (end > start) this.ex?.reqData(start === 0 && end === len ? chunk : chunk.subarray(start, end));
    if (this.left !== 0) return;
    // the body is complete
    this.st = St.Wait;
    this.ex?.reqEnd();
    if (end < len) {
      this.buf = chunk.subarray(end);
      this.scanFrom = 0;
    }
    if (this.ex === null) this.next(false);
  }

  pauseBody(): void {
    if (!this.bodyPaused) {
      this.bodyPaused = true;
      this.socket.pause();
    }
  }

  resumeBody(): void {
    if (this.bodyPaused) {
      this.bodyPaused = false;
      if (!this.waitPaused && !this.drainPaused) this.socket.resume();
    }
  }

  waitDrain(): void {
    this.drainWanted = true;
  }

  private onDrain(): void {
    if (this.drainWanted) {
      this.drainWanted = false;
      this.ex?.onClientDrain();
    }
    if (this.drainPaused) {
      this.drainPaused = false;
      if (this.st === St.Closed) return;
      this.socket.resume();
      this.heads();
    }
  }

  /** The exchange finished its response (written to the socket). */
  responseDone(close: boolean): void {
    this.ex = null;
    this.drainWanted = false;
    if (this.st === St.Body) {
      // the response came before the whole request body: the stream is out of step
      close = true;
    }
    this.next(close);
  }

  private next(close: boolean): void {
    if (this.st === St.Closed) return;
    // a client that ended still gets answers to the complete requests it sent before
    if (close || (this.ended && this.buf === null) || this.listener.isClosing()) return shut(this);
    this.st = St.Head;
    if (this.bodyPaused || this.waitPaused) {
      this.bodyPaused = false;
      this.waitPaused = false;
      this.socket.resume();
    }
    if (this.buf !== null) this.heads();
  }

  private onEnd(): void {
    this.ended = true;
    if (this.st === St.Body) return void this.socket.destroy();
    if (this.ex === null && this.st === St.Head && !this.drainPaused) {
      if (this.buf === null) shut(this);
      else this.heads();
    }
  }
}
