// The response side of an Exchange (the hot path): the target's bytes go to the client raw. The
// head is parsed to learn the framing and, when needed, rewritten (Set-Cookie, Connection: close);
// the body is tracked to its end so the upstream connection can be reused. A 101 to an Upgrade
// request hands both connections to a tunnel.
import { statusClass } from '../metrics.js';
import { CHUNK_BAD, CHUNK_MORE, ChunkedScanner } from './chunked.js';
import type { Exchange } from './exchange.js';
import { MAX_HEAD } from './parse-request.js';
import { Body, newResponseHead, parseResponseHead, rewriteHead, rewriteHeadWithBody } from './parse-response.js';

const CRLF2 = Buffer.from('\r\n\r\n', 'latin1');
/** a rewritten head and up to this much body are copied into one buffer (one write) */
const COALESCE = 16 * 1024;

// scratch: a response head is parsed and used synchronously
const R = newResponseHead();

/** Bytes from the target: the response head (after any 1xx) and the start of the body, or more body. */
export function responseData(ex: Exchange, chunk: Buffer): void {
  if (ex.headSent) return forwardBody(ex, chunk, 0);
  let data = chunk;
  if (ex.respBuf !== null) {
    data = Buffer.concat([ex.respBuf, chunk]);
    ex.respBuf = null;
  }
  let pos = 0;
  for (;;) {
    const idx = data.indexOf(CRLF2, pos);
    if (idx === -1) {
      if (data.length - pos > MAX_HEAD) return ex.upFailed('EPROTO', 'response head too large');
      // a copy: data may be the connection's read buffer
      ex.respBuf = Buffer.from(data.subarray(pos));
      return;
    }
    if (!parseResponseHead(data, pos, idx, ex.isHead, R)) return ex.upFailed('EPROTO', 'invalid response head');
    if (R.status === 101) {
      if (ex.upgrade) return tunnel(ex, data, pos);
      return ex.upFailed('EPROTO', 'invalid response head');
    }
    if (R.status >= 200) break;
    // 1xx (100 Continue, 103 Early Hints): pass on, the final response follows
    if (!ex.http10) {
      const sock = ex.conn.socket;
      sock.write(data.subarray(pos, idx + 4));
      if (sock.writableLength > 0) ex.up!.held = true;
    }
    pos = idx + 4;
    if (pos === data.length) return;
  }
  ex.up!.clearHeadTimeout();
  ex.headSent = true;
  ex.status = R.status;
  ex.body = R.body;
  ex.left = R.length;
  ex.upKeep = !R.close && !ex.upgrade;
  if (R.keepAliveS >= 0) ex.up!.announcedKeepAlive(R.keepAliveS);
  if (R.body === Body.Close) ex.closeClient = true;
  let extra = '';
  if (ex.setCookie !== null) extra = `Set-Cookie: ${ex.setCookie}\r\n`;
  // an early response (the request body is not all here): the connection closes after it
  if (ex.closeClient || !ex.reqComplete || ex.conn.closing()) {
    ex.closeClient = true;
    extra += 'Connection: close\r\n';
  }
  const bodyStart = R.end + 4;
  const endIdx = bodyEnd(ex, data, bodyStart);
  if (endIdx === CHUNK_BAD) return ex.broken();
  const sock = ex.conn.socket;
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
  afterWrite(ex, ok, data, endIdx);
}

/** The target accepted the upgrade (101): its head and what follows go to the client, then a tunnel. */
function tunnel(ex: Exchange, data: Buffer, pos: number): void {
  const up = ex.up!;
  ex.up = null;
  up.clearHeadTimeout();
  ex.headSent = true;
  ex.status = 101;
  const t = ex.target!;
  // the tunnel holds the in-flight slot while it is open
  ex.target = null;
  ex.finish(statusClass(101));
  const sock = ex.conn.socket;
  sock.write(pos === 0 ? data : data.subarray(pos));
  if (sock.writableLength > 0) up.held = true;
  ex.conn.upgraded(up, t);
}

function forwardBody(ex: Exchange, data: Buffer, start: number): void {
  const endIdx = bodyEnd(ex, data, start);
  if (endIdx === CHUNK_BAD) return ex.broken();
  const ok = ex.conn.socket.write(start === 0 && endIdx === data.length ? data : data.subarray(start, endIdx));
  afterWrite(ex, ok, data, endIdx);
}

/**
 * Where the response ends in data[start..]: data.length when it goes on (ex.left/ex.chunks
 * updated), less when it ended there (ex.body set to None), or CHUNK_BAD.
 */
function bodyEnd(ex: Exchange, data: Buffer, start: number): number {
  const len = data.length;
  switch (ex.body) {
    case Body.None:
      return start;
    case Body.Length: {
      const n = Math.min(ex.left, len - start);
      ex.left -= n;
      if (ex.left === 0) ex.body = Body.None;
      return start + n;
    }
    case Body.Chunked: {
      const r = (ex.chunks ??= new ChunkedScanner()).scan(data, start, len);
      if (r === CHUNK_BAD) return CHUNK_BAD;
      if (r === CHUNK_MORE) return len;
      ex.body = Body.None;
      return r;
    }
    case Body.Close:
      return len;
  }
}

function afterWrite(ex: Exchange, ok: boolean, data: Buffer, endIdx: number): void {
  // a write still queued refers to data (the connection's read buffer): reads go elsewhere now
  if (ex.conn.socket.writableLength > 0 && ex.up !== null) ex.up.held = true;
  if (ex.body === Body.None) {
    // bytes after the end of the response: the connection is out of step, do not reuse it
    if (endIdx < data.length) ex.upKeep = false;
    return ex.complete();
  }
  if (!ok && !ex.upPaused && ex.up !== null) {
    ex.upPaused = true;
    ex.up.socket.pause();
    ex.conn.waitDrain();
  }
}
