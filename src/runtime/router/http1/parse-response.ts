// The response head from a target: only the status and what framing needs. The head is forwarded
// as the target sent it unless it holds hop-by-hop headers (or the router adds one): then it is
// rebuilt from the byte ranges between the dropped lines.
import { eqLower } from './parse-request.js';

export const enum Body {
  None,
  Length,
  Chunked,
  /** delimited by the target closing the connection */
  Close,
}

export interface ResponseHead {
  status: number;
  body: Body;
  /** with Body.Length */
  length: number;
  /** the target will close (or not keep) this connection */
  close: boolean;
  /** [start, end) byte ranges of the lines to leave out when forwarding */
  drops: number[];
  /** the status line and kept headers end at this index (the final CRLFCRLF) */
  end: number;
  /** seconds from the target's `Keep-Alive: timeout=N` (it closes an idle connection then), or -1 */
  keepAliveS: number;
}

export function newResponseHead(): ResponseHead {
  return { status: 0, body: Body.None, length: 0, close: false, drops: [], end: 0, keepAliveS: -1 };
}

function digits(buf: Buffer, s: number, e: number): number {
  if (e <= s || e - s > 15) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) return -1;
    n = n * 10 + (c - 48);
  }
  return n;
}

const TIMEOUT = Buffer.from('timeout=', 'latin1');

/** N in a Keep-Alive value `timeout=N[, max=M]` (any case) in buf[s, e), or -1: byte compares, no strings. */
function keepAliveTimeout(buf: Buffer, s: number, e: number): number {
  for (let i = s; i + TIMEOUT.length <= e; i++) {
    let j = 0;
    while (j < TIMEOUT.length && (buf[i + j]! | 0x20) === TIMEOUT[j]) j++;
    if (j < TIMEOUT.length) continue;
    let d = i + j;
    while (d < e && buf[d]! >= 48 && buf[d]! <= 57) d++;
    return digits(buf, i + j, d);
  }
  return -1;
}

/**
 * Parses buf[start, end) (end: index of the CRLFCRLF). `head`: the request was HEAD (no body).
 * Returns false when the head is not valid HTTP/1.x.
 */
export function parseResponseHead(buf: Buffer, start: number, end: number, head: boolean, r: ResponseHead): boolean {
  r.drops.length = 0;
  r.end = end;
  r.keepAliveS = -1;
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (end - start < 12 || !(buf[start] === 72 && buf[start + 1] === 84 && buf[start + 2] === 84 && buf[start + 3] === 80 && buf[start + 4] === 47 && buf[start + 5] === 49 && buf[start + 6] === 46)) return false;
  const minor = buf[start + 7];
  if ((minor !== 48 && minor !== 49) || buf[start + 8] !== 32) return false;
  const status = digits(buf, start + 9, start + 12);
  if (status < 100) return false;
  const after = buf[start + 12];
  if (after !== 32 && after !== 13) return false;
  r.status = status;
  let close = minor === 48;
  let length = -1;
  let te = false;
  let teChunked = false;
  const eol = buf.indexOf(13, start);
  let p = eol + 2;
  while (p < end + 2) {
    let le = buf.indexOf(13, p);
    if (le === -1 || le > end) le = end;
    if (buf[le + 1] !== 10) return false;
    const colon = buf.indexOf(58, p);
    if (colon === -1 || colon >= le || colon === p) return false;
    const nl = colon - p;
    let vs = colon + 1;
    let ve = le;
    while (vs < ve && (buf[vs] === 32 || buf[vs] === 9)) vs++;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    switch (nl) {
      case 7:
        // upgrade (outside a 101), trailer stays: the trailers pass through
        if (status !== 101 && eqLower(buf, p, 'upgrade')) r.drops.push(p, le + 2);
        break;
      case 10:
        if (eqLower(buf, p, 'connection')) {
          const v = buf.latin1Slice(vs, ve).toLowerCase();
          if (v.includes('close')) close = true;
          else if (minor === 48 && v.includes('keep-alive')) close = false;
          if (status !== 101) r.drops.push(p, le + 2);
        } else if (eqLower(buf, p, 'keep-alive')) {
          r.keepAliveS = keepAliveTimeout(buf, vs, ve);
          r.drops.push(p, le + 2);
        }
        break;
      case 14:
        if (eqLower(buf, p, 'content-length')) {
          // a list of equal values is allowed
          let n = -1;
          let s = vs;
          for (;;) {
            let c = buf.indexOf(44, s);
            if (c === -1 || c > ve) c = ve;
            let a = s;
            let b = c;
            while (a < b && buf[a] === 32) a++;
            while (b > a && buf[b - 1] === 32) b--;
            const x = digits(buf, a, b);
            if (x === -1 || (length !== -1 && x !== length) || (n !== -1 && x !== n)) return false;
            n = x;
            if (c === ve) break;
            s = c + 1;
          }
          length = n;
        }
        break;
      case 16:
        if (eqLower(buf, p, 'proxy-connection')) r.drops.push(p, le + 2);
        break;
      case 17:
        if (eqLower(buf, p, 'transfer-encoding')) {
          te = true;
          const v = buf.latin1Slice(vs, ve).toLowerCase();
          const last = v.lastIndexOf(',');
          teChunked = (last === -1 ? v : v.slice(last + 1)).trim() === 'chunked';
        }
        break;
    }
    p = le + 2;
  }
  r.close = close;
  if (head || status < 200 || status === 204 || status === 304) {
    r.body = Body.None;
    // the head promised a body it must not have: a broken target might still send those bytes,
    // which would reach the next request's client if the connection were reused
    if (length > 0 || te) r.close = true;
  } else if (te) {
    if (length !== -1) return false;
    if (teChunked) r.body = Body.Chunked;
    else {
      r.body = Body.Close;
      r.close = true;
    }
  } else if (length !== -1) {
    r.body = Body.Length;
    r.length = length;
  } else {
    r.body = Body.Close;
    r.close = true;
  }
  return true;
}

/**
 * One buffer with the head from buf[start, r.end) without r.drops, plus `extra` header lines and the
 * final CRLF, then buf[bodyStart, bodyEnd): byte copies, no strings.
 */
export function rewriteHeadWithBody(buf: Buffer, start: number, r: ResponseHead, extra: string, bodyStart: number, bodyEnd: number): Buffer {
  const d = r.drops;
  const headEnd = r.end + 2;
  let size = headEnd - start + extra.length + 2 + (bodyEnd - bodyStart);
  for (let i = 0; i < d.length; i += 2) size -= d[i + 1]! - d[i]!;
  const out = Buffer.allocUnsafe(size);
  let o = 0;
  let from = start;
  for (let i = 0; i < d.length; i += 2) {
    o += buf.copy(out, o, from, d[i]!);
    from = d[i + 1]!;
  }
  if (headEnd > from) o += buf.copy(out, o, from, headEnd);
  if (extra.length > 0) o += out.latin1Write(extra, o);
  out[o++] = 13;
  out[o++] = 10;
  if (bodyEnd > bodyStart) buf.copy(out, o, bodyStart, bodyEnd);
  return out;
}

/** The head from buf[start, r.end) without r.drops, plus `extra` header lines, ending in CRLFCRLF. */
export function rewriteHead(buf: Buffer, start: number, r: ResponseHead, extra: string): string {
  let out = '';
  let from = start;
  const d = r.drops;
  for (let i = 0; i < d.length; i += 2) {
    out += buf.latin1Slice(from, d[i]!);
    from = d[i + 1]!;
  }
  // up to and including the last header's CRLF
  if (r.end + 2 > from) out += buf.latin1Slice(from, r.end + 2);
  return `${out}${extra}\r\n`;
}
