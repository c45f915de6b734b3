// How a client connection ends: the router closing its side (shut), with a response of its own
// (plain, refuse), the socket closing (closed), the sweep letting go of idle, trickling or
// lingering clients (expired), and the hand-off to a tunnel after a 101 (upgraded).
import type { TargetRt } from '../state.js';
import { Tunnel } from '../upgrade.js';
import type { ClientConn } from './client-conn.js';
import { plainResponse, refusalBody, refusalResponse } from './router-responses.js';
import type { Upstream } from './upstream-pool.js';

/** after the router closed its side, the client has this many sweeps (5-10 s) to close its own */
const LINGER_TICKS = 2;

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
 * (Listener's sweep, every tick) Whether to close it: idle and silent for `idleTicks`, or a
 * request head begun `headTicks` ago and still not complete (a client trickling bytes).
 */
export function expired(c: ClientConn, tick: number, idleTicks: number, headTicks: number): boolean {
  const st = c.st;
  // the router closed its side: the client must close its own soon
  if (st === St.Closed) {
    // a client that does not read what is still queued gets an idle period
    if (!c.socket.writableFinished) return tick - c.closedTick >= idleTicks;
    if (c.flushedTick < 0) c.flushedTick = tick;
    return tick - c.flushedTick >= LINGER_TICKS;
  }
  // a request body that stopped coming (or a target that stopped reading it) for an idle period
  if (st === St.Body) return tick - c.lastTick >= idleTicks;
  if (c.ex !== null || st !== St.Head) return false;
  return tick - c.lastTick >= idleTicks || (c.buf !== null && tick - c.headTick >= headTicks);
}

/**
 * Ends the router's side (after what is written). Reading goes on, discarded, so the client's
 * FIN (or the rest of an upload cut short) is seen; expired() destroys it if the client lingers.
 */
export function shut(c: ClientConn): void {
  c.st = St.Closed;
  c.closedTick = c.listener.tick;
  c.buf = null;
  c.store = null;
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
  c.st = St.Closed;
  c.closedTick = c.listener.tick;
  c.buf = null;
  if (ex !== null) {
    // mid-body of a forwarded request: nothing sensible can be answered
    ex.clientClosed();
    c.socket.destroy();
    return;
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
  c.bodyPaused = c.waitPaused = c.drainPaused = false;
  new Tunnel(c.listener, s, up, target, rest, c.ended);
}
