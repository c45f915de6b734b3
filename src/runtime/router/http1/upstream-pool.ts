// Per target: keep-alive TCP connections, reused one request at a time. Each socket gets its
// listeners once; they forward to the socket's current owner (the exchange using it).
import { connect, type Socket } from 'node:net';

/** How many idle connections a target keeps at most. */
const MAX_IDLE = 256;
/** Idle connections close after this (below Node's default 5 s keep-alive on the target side). */
const IDLE_MS = 4_000;
/**
 * A target that announces `Keep-Alive: timeout=N` closes an idle connection after N s: it is
 * retired this long before (at least), so a request never races the target's close.
 */
const KEEP_ALIVE_MARGIN_MS = 500;

/** How long an idle connection may be kept when the target announced a keep-alive timeout of `s` seconds. */
export function keepIdleMs(s: number): number {
  const announced = s * 1000;
  return Math.min(IDLE_MS, announced - Math.max(KEEP_ALIVE_MARGIN_MS, announced / 5));
}
/** Responses are read into a buffer per connection, reused from read to read (see Upstream.held). */
const READ_BUF = 32 * 1024;

export interface UpstreamOwner {
  onUpConnect(): void;
  /** `chunk` is only valid during the call: keep it (or let a write queue it) and set Upstream.held */
  onUpData(chunk: Buffer): void;
  onUpDrain(): void;
  /** EOF from the target */
  onUpEnd(): void;
  /** the socket closed (err: why, if it failed) */
  onUpClose(err: NodeJS.ErrnoException | null): void;
  onUpHeadTimeout(): void;
}

export interface UpstreamOptions {
  connectTimeoutMs: number;
  headersTimeoutMs: number;
}

export class Upstream {
  readonly socket: Socket;
  owner: UpstreamOwner | null;
  connected = false;
  dead = false;
  /** it served a request before */
  reused = false;
  /** (idle) it is not reused from this performance.now() time on */
  retireAt = 0;
  /** how long it may stay idle: IDLE_MS, or less when the target announced its keep-alive timeout */
  keepMs = IDLE_MS;
  /**
   * The owner kept a reference to the bytes of the last read (a write to the client that is still
   * queued): the next read must go to a new buffer.
   */
  held = false;
  private rbuf = Buffer.allocUnsafeSlow(READ_BUF);
  private err: NodeJS.ErrnoException | null = null;
  private headDeadline = 0;
  private headTimer: NodeJS.Timeout | null = null;

  constructor(
    readonly pool: UpstreamPool,
    owner: UpstreamOwner,
  ) {
    this.owner = owner;
    // onread: no Readable machinery and no allocation per read; 'end' still comes as an event
    const s = connect({ host: pool.host, port: pool.port, noDelay: true, onread: { buffer: () => this.nextBuf(), callback: (n: number, buf: Buffer) => this.onRead(n, buf) } });
    this.socket = s;
    s.unref();
    s.resume();
    s.setTimeout(pool.opts.connectTimeoutMs);
    s.on('connect', () => {
      this.connected = true;
      s.setTimeout(0);
      this.owner?.onUpConnect();
    });
    s.on('timeout', () => {
      if (this.connected) return;
      const e: NodeJS.ErrnoException = new Error(`connect timed out after ${pool.opts.connectTimeoutMs} ms`);
      e.code = 'ETIMEDOUT';
      s.destroy(e);
    });
    s.on('drain', () => this.owner?.onUpDrain());
    s.on('end', () => {
      if (this.owner !== null) this.owner.onUpEnd();
      else this.destroy();
    });
    s.on('error', (e: NodeJS.ErrnoException) => {
      this.err ??= e;
    });
    s.on('close', () => {
      this.dead = true;
      if (this.headTimer !== null) clearTimeout(this.headTimer);
      this.headTimer = null;
      const o = this.owner;
      this.owner = null;
      if (o !== null) o.onUpClose(this.err);
    });
  }

  private nextBuf(): Buffer {
    if (this.held) {
      this.held = false;
      this.rbuf = Buffer.allocUnsafeSlow(READ_BUF);
    }
    return this.rbuf;
  }

  private onRead(n: number, buf: Buffer): boolean {
    const o = this.owner;
    if (o === null) {
      this.destroy(); // nothing was asked
      return false;
    }
    o.onUpData(buf.subarray(0, n));
    return true;
  }

  /** The target said (Keep-Alive: timeout=N) it closes this connection when idle for `s` seconds. */
  announcedKeepAlive(s: number): void {
    this.keepMs = keepIdleMs(s);
  }

  /** The response head must arrive within headersTimeoutMs from now. */
  armHeadTimeout(): void {
    const ms = this.pool.opts.headersTimeoutMs;
    this.headDeadline = performance.now() + ms;
    if (this.headTimer === null) this.headTimer = setTimeout(onHeadTimer, ms, this);
  }

  clearHeadTimeout(): void {
    this.headDeadline = 0;
  }

  /** (from the timer) the deadline passed, or re-arm for what is left of it */
  headTimerFired(): void {
    this.headTimer = null;
    if (this.headDeadline === 0 || this.dead) return;
    const left = this.headDeadline - performance.now();
    if (left > 0) this.headTimer = setTimeout(onHeadTimer, left, this);
    else {
      this.headDeadline = 0;
      this.owner?.onUpHeadTimeout();
    }
  }

  /** Closes it; its owner (if any) hears nothing more. */
  destroy(): void {
    this.owner = null;
    this.dead = true;
    this.socket.destroy();
  }
}

function onHeadTimer(u: Upstream): void {
  u.headTimerFired();
}

export class UpstreamPool {
  private idle: Upstream[] = [];
  private closed = false;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly opts: UpstreamOptions,
  ) {}

  /** An idle connection (reused) or a new one, owned by `owner`. */
  acquire(owner: UpstreamOwner): Upstream {
    const idle = this.idle;
    let now = -1;
    while (idle.length > 0) {
      const u = idle.pop()!;
      if (u.dead) continue;
      // the age is checked here, not only by the sweep: the target may be about to close it
      if (now < 0) now = performance.now();
      if (u.retireAt <= now) {
        u.destroy();
        continue;
      }
      u.owner = owner;
      u.reused = true;
      return u;
    }
    return new Upstream(this, owner);
  }

  /** The exchange is done with it and the connection can serve another request. */
  release(u: Upstream): void {
    u.owner = null;
    u.clearHeadTimeout();
    if (this.closed || u.dead || u.keepMs <= 0 || this.idle.length >= MAX_IDLE) return u.destroy();
    if (u.socket.isPaused()) u.socket.resume();
    u.retireAt = performance.now() + u.keepMs;
    this.idle.push(u);
    if (this.sweeper === null) {
      this.sweeper = setInterval(() => this.sweep(), 1_000);
      this.sweeper.unref();
    }
  }

  private sweep(): void {
    const now = performance.now();
    const idle = this.idle;
    let n = 0;
    for (const u of idle) {
      if (u.dead) continue;
      if (u.retireAt <= now) u.destroy();
      else idle[n++] = u;
    }
    idle.length = n;
    if (n === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  /** No new connections are kept; the idle ones close now (those in use close when done). */
  close(): void {
    this.closed = true;
    for (const u of this.idle) u.destroy();
    this.idle = [];
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
