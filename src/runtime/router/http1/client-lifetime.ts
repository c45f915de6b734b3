// How a client connection ends: the router closing its side (shut), with a response of its own
// (plain, refuse), the socket closing (closed), the sweep letting go of idle, trickling or
// lingering clients (sweep), and the hand-off to a tunnel after a 101 (upgraded).
import type { TargetRt } from '../state.js';
import { Tunnel } from '../upgrade.js';
import type { ClientConn } from './client-conn.js';
import { plainResponse, refusalBody, refusalResponse } from './router-responses.js';
import type { Upstream } from './upstream-pool.js';

/** after the router closed its side, the client has this long to close its own */
const LINGER_MS = 5_000;
/** a client connection without a request in progress closes after this */
const IDLE_MS = 60_000;
/** a request head must be complete within this of its first byte */
const HEAD_MS = 60_000;

/** Where a client connection is in its request cycle. */
export const enum St {
  /** waiting for (more of) a request head */
  Head,
  /** forwarding the request body */
  Body,
  /** the request is read; waiting for the response to finish */
  Wait,
  Closed,
}

/**
 * (Listener's sweep, at `now` on its clock) Lets the connection go when it is past a deadline: a
 * client that reads nothing of what is queued for it (send timeout), a request body that stopped
 * coming (body timeout: 408), a head trickling in, an idle keep-alive connection, or a client that
 * lingers after the router closed its side.
 */
export function sweep(c: ClientConn, now: number): void {
  const lim = c.listener.limits;
  // progress: a write to the client completed since the last sweep (bytesWritten counts what is
  // still queued too; the queue's length alone can stand still while a slow client reads and the
  // target refills it)
  const queued = c.socket.writableLength;
  const sent = c.socket.bytesWritten - queued;
  if (queued === 0 || sent > c.sentSeen) c.stallSince = -1;
  else if (c.stallSince < 0) c.stallSince = now;
  c.sentSeen = sent;
  if (c.stallSince >= 0 && now - c.stallSince >= lim.sendTimeoutMs) return c.destroy();
  const st = c.st;
  // the router closed its side: the client must close its own soon
  if (st === St.Closed) {
    if (!c.socket.writableFinished) {
      if (now - c.closedAt >= IDLE_MS) c.destroy();
      return;
    }
    if (c.flushedAt < 0) c.flushedAt = now;
    if (now - c.flushedAt >= LINGER_MS) c.destroy();
    return;
  }
  // a request body that stopped coming (or a target that stopped reading it)
  if (st === St.Body) {
    if (now - c.lastAt >= lim.bodyTimeoutMs) bodyTimedOut(c);
    return;
  }
  if (c.ex !== null || st !== St.Head) return;
  if (now - c.lastAt >= IDLE_MS || (c.buf !== null && now - c.headAt >= HEAD_MS)) c.destroy();
}

/** No request body byte for the body timeout: 408 when no response began, else just close. */
function bodyTimedOut(c: ClientConn): void {
  const ex = c.ex;
  if (ex === null || ex.headSent) return c.destroy();
  refuse(c, 408, 'the request body stopped coming');
}

/** Counts what an unfinished head holds (`bytes`) in the listener's total; false when that would pass the bound. */
export function holdHead(c: ClientConn, bytes: number): boolean {
  const l = c.listener;
  const delta = bytes - c.headHeld;
  if (delta > 0 && l.headMemory + delta > l.limits.maxHeadMemory) return false;
  l.headMemory += delta;
  c.headHeld = bytes;
  return true;
}

/** The head is complete or dropped: its bytes no longer count. */
export function releaseHead(c: ClientConn): void {
  c.listener.headMemory -= c.headHeld;
  c.headHeld = 0;
}

/**
 * Ends the router's side (after what is written). Reading goes on, discarded, so the client's
 * FIN (or the rest of an upload cut short) is seen; expired() destroys it if the client lingers.
 */
export function shut(c: ClientConn): void {
  c.st = St.Closed;
  c.closedAt = c.listener.clock;
  c.buf = null;
  c.store = null;
  if (c.headHeld !== 0) releaseHead(c);
  c.socket.end();
  if (c.bodyPaused || c.waitPaused || c.drainPaused) {
    c.bodyPaused = c.waitPaused = c.drainPaused = false;
    c.socket.resume();
  }
}

/** The socket closed (either side, or destroyed): the exchange in progress, if any, is dropped. */
export function closed(c: ClientConn): void {
  c.st = St.Closed;
  c.listener.conns.delete(c);
  c.listener.forget(c.ip);
  if (c.headHeld !== 0) releaseHead(c);
  const ex = c.ex;
  c.ex = null;
  ex?.clientClosed();
}

/** A router-made response on a connection that stays open. */
export function plain(c: ClientConn, status: number, body: string, close: boolean): void {
  c.socket.write(plainResponse(status, body, close), 'latin1');
  // (an ended client: the head loop closes once no complete request is left)
  if (close) shut(c);
}

/** A router-made error response, then the connection closes. */
export function refuse(c: ClientConn, status: number, why: string, body = refusalBody(status, why)): void {
  const ex = c.ex;
  c.ex = null;
  // a request body cut short by the body timeout (no response began): the client is told why
  const answer = ex !== null && status === 408;
  c.st = St.Closed;
  c.closedAt = c.listener.clock;
  c.buf = null;
  if (c.headHeld !== 0) releaseHead(c);
  if (ex !== null) {
    ex.clientClosed();
    // mid-body of a forwarded request: nothing sensible can be answered (but a timeout's 408)
    if (!answer) return void c.socket.destroy();
  }
  c.socket.end(refusalResponse(status, body), 'latin1');
}

/**
 * The target answered 101 to the current (Upgrade) request: the connection leaves HTTP and
 * becomes a tunnel to `up`, which gets the bytes the client sent since.
 */
export function upgraded(c: ClientConn, up: Upstream, target: TargetRt): void {
  const s = c.socket;
  c.ex = null;
  c.st = St.Closed;
  s.removeAllListeners('data');
  s.removeAllListeners('end');
  s.removeAllListeners('drain');
  s.removeAllListeners('close');
  s.removeAllListeners('error');
  c.listener.conns.delete(c);
  const rest = c.buf;
  c.buf = null;
  c.store = null;
  if (c.headHeld !== 0) releaseHead(c);
  c.bodyPaused = c.waitPaused = c.drainPaused = false;
  new Tunnel(c.listener, s, c.ip, up, target, rest, c.ended);
}
