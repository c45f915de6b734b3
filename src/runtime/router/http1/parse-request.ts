// The request head, parsed by hand from the client's bytes: the request line, the few headers
// routing and framing need, and the header lines to forward (hop-by-hop ones and the forwarding
// headers left out) as one latin1 string. Strict where a lenient parse could let a request be
// smuggled (RFC 9112 §6.3): a request another reader could frame differently is refused.

export const MAX_HEAD = 64 * 1024;

export interface RequestHead {
  method: string;
  target: string;
  http10: boolean;
  host: string | null;
  /** -1: no Content-Length */
  contentLength: number;
  chunked: boolean;
  /** the client asked to close after this response (Connection: close, or HTTP/1.0) */
  close: boolean;
  /** an Upgrade request (Upgrade header and Connection: upgrade): its Upgrade value */
  upgrade: string | null;
  cookie: string | null;
  /** X-Forwarded-For values the client sent, joined (forwarded only from a trusted proxy, as the rest below) */
  xff: string | null;
  /** X-Forwarded-Proto and X-Forwarded-Host values, joined; the first X-Real-IP */
  xfProto: string | null;
  xfHost: string | null;
  realIp: string | null;
  /** the Forwarded header lines, each ending in CRLF */
  forwarded: string | null;
  /** the header lines to forward, each ending in CRLF (one normalised Content-Length or Transfer-Encoding line) */
  fwd: string;
  /** lower-case names the Connection header listed besides close, keep-alive and upgrade (dropped), or null */
  named: Set<string> | null;
  /** why the head was refused (with the status parseRequestHead returned) */
  error: string;
}

export function newRequestHead(): RequestHead {
  return { method: '', target: '', http10: false, host: null, contentLength: -1, chunked: false, close: false, upgrade: null, cookie: null, xff: null, xfProto: null, xfHost: null, realIp: null, forwarded: null, fwd: '', named: null, error: '' };
}

// token characters (RFC 9110 §5.6.2)
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") TOKEN[c.charCodeAt(0)] = 1;

/** Whether buf[start, start+lit.length) equals the lower-case ASCII `lit`, ignoring case. */
export function eqLower(buf: Buffer, start: number, lit: string): boolean {
  for (let i = 0; i < lit.length; i++) if ((buf[start + i]! | 0x20) !== lit.charCodeAt(i)) return false;
  return true;
}

const enum K {
  Keep,
  Drop,
  Host,
  Xff,
  XfProto,
  XfHost,
  RealIp,
  Forwarded,
  Cookie,
  ContentLength,
  TransferEncoding,
  Connection,
  Upgrade,
}

function classify(buf: Buffer, s: number, len: number): K {
  switch (len) {
    case 2:
      return eqLower(buf, s, 'te') ? K.Drop : K.Keep;
    case 4:
      return eqLower(buf, s, 'host') ? K.Host : K.Keep;
    case 6:
      return eqLower(buf, s, 'cookie') ? K.Cookie : K.Keep;
    case 7:
      return eqLower(buf, s, 'upgrade') ? K.Upgrade : eqLower(buf, s, 'trailer') ? K.Drop : K.Keep;
    case 9:
      return eqLower(buf, s, 'x-real-ip') ? K.RealIp : eqLower(buf, s, 'forwarded') ? K.Forwarded : K.Keep;
    case 10:
      return eqLower(buf, s, 'connection') ? K.Connection : eqLower(buf, s, 'keep-alive') ? K.Drop : K.Keep;
    case 14:
      return eqLower(buf, s, 'content-length') ? K.ContentLength : K.Keep;
    case 15:
      return eqLower(buf, s, 'x-forwarded-for') ? K.Xff : K.Keep;
    case 16:
      return eqLower(buf, s, 'proxy-connection') ? K.Drop : eqLower(buf, s, 'x-forwarded-host') ? K.XfHost : K.Keep;
    case 17:
      return eqLower(buf, s, 'transfer-encoding') ? K.TransferEncoding : eqLower(buf, s, 'x-forwarded-proto') ? K.XfProto : K.Keep;
    default:
      return K.Keep;
  }
}

/**
 * Whether buf[from...] has a bare LF or a CR followed by anything but LF (RFC 9112 §2.2: a line
 * ends in CRLF only). For a head still incomplete, whose CRLFCRLF may never come.
 */
export function bareLineEnd(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(10, from); i !== -1; i = buf.indexOf(10, i + 1)) if (i === 0 || buf[i - 1] !== 13) return true;
  for (let i = buf.indexOf(13, from); i !== -1 && i + 1 < buf.length; i = buf.indexOf(13, i + 1)) if (buf[i + 1] !== 10) return true;
  return false;
}

function fail(h: RequestHead, status: number, why: string): number {
  h.error = why;
  return status;
}

/** s without the spaces and tabs (OWS, RFC 9110 §5.6.3; nothing else) at either end. */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/** headers the router frames or routes by: a Connection header naming one is refused */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'host', 'cookie']);

/**
 * The Content-Length value in buf[s, e) (a list of equal values allowed, RFC 9110 §8.6; spaces
 * and tabs only around them): the number, or -2 if invalid.
 */
function contentLength(buf: Buffer, s: number, e: number): number {
  let n = -1;
  let i = s;
  for (;;) {
    while (i < e && (buf[i] === 32 || buf[i] === 9)) i++;
    const d = i;
    let x = 0;
    for (let c = buf[i]!; i < e && c >= 48 && c <= 57; c = buf[++i]!) x = x * 10 + (c - 48);
    if (i === d || i - d > 15 || (n !== -1 && x !== n)) return -2;
    n = x;
    while (i < e && (buf[i] === 32 || buf[i] === 9)) i++;
    if (i === e) return n;
    if (buf[i] !== 44 /* , */) return -2;
    i++;
  }
}

/** Whether buf[s, e) is digits only. */
function digits(buf: Buffer, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (buf[i]! < 48 || buf[i]! > 57) return false;
  return true;
}

/**
 * Parses buf[0, end) (end: the index of the CRLFCRLF that ends the head) into h. Returns 0, or the
 * status to refuse it with (400, 501) and then close. `named`: lower-case header names the
 * Connection header listed, dropped too (a second pass, when there are any).
 */
export function parseRequestHead(buf: Buffer, end: number, h: RequestHead, named: Set<string> | null = null): number {
  h.host = null;
  h.contentLength = -1;
  h.chunked = false;
  h.upgrade = null;
  h.cookie = null;
  h.xff = null;
  h.xfProto = null;
  h.xfHost = null;
  h.realIp = null;
  h.forwarded = null;
  h.fwd = '';
  h.named = named;
  let te: string | null = null;
  let connection: string | null = null;
  let hosts = 0;

  // request line: method SP target SP HTTP/1.x
  let eol = buf.indexOf(13, 0);
  if (eol === -1 || eol > end) eol = end;
  if (buf[eol + 1] !== 10) return fail(h, 400, 'bad request line');
  const sp1 = buf.indexOf(32, 0);
  if (sp1 <= 0 || sp1 >= eol) return fail(h, 400, 'bad request line');
  for (let i = 0; i < sp1; i++) if (TOKEN[buf[i]!] !== 1) return fail(h, 400, 'bad method');
  const sp2 = buf.indexOf(32, sp1 + 1);
  if (sp2 === -1 || sp2 >= eol || sp2 === sp1 + 1) return fail(h, 400, 'bad request line');
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = buf[i]!;
    if (c <= 32 || c >= 127) return fail(h, 400, 'bad request target');
  }
  if (eol - sp2 !== 9 || !(buf[sp2 + 1] === 72 && buf[sp2 + 2] === 84 && buf[sp2 + 3] === 84 && buf[sp2 + 4] === 80 && buf[sp2 + 5] === 47 && buf[sp2 + 6] === 49 && buf[sp2 + 7] === 46)) {
    return fail(h, 400, 'bad HTTP version');
  }
  const minor = buf[sp2 + 8];
  if (minor !== 49 && minor !== 48) return fail(h, 400, 'bad HTTP version');
  h.http10 = minor === 48;
  h.close = h.http10;
  h.method = buf.latin1Slice(0, sp1);
  h.target = buf.latin1Slice(sp1 + 1, sp2);

  // header lines
  let p = eol + 2;
  let keepFrom = p;
  let fwd = '';
  let norm: string | null = null;
  while (p < end + 2) {
    let le = buf.indexOf(13, p);
    if (le === -1 || le > end) le = end;
    if (buf[le + 1] !== 10) return fail(h, 400, 'bare CR in a header');
    const first = buf[p]!;
    if (first === 32 || first === 9) return fail(h, 400, 'obsolete line folding');
    const colon = buf.indexOf(58, p);
    if (colon === -1 || colon >= le || colon === p) return fail(h, 400, 'a header line without a name and colon');
    for (let i = p; i < colon; i++) if (TOKEN[buf[i]!] !== 1) return fail(h, 400, 'bad header name (whitespace before the colon?)');
    // value: OWS trimmed, no control characters but HTAB
    let vs = colon + 1;
    let ve = le;
    for (let i = vs; i < ve; i++) {
      const c = buf[i]!;
      if ((c < 32 && c !== 9) || c === 127) return fail(h, 400, 'control character in a header value');
    }
    while (vs < ve && (buf[vs] === 32 || buf[vs] === 9)) vs++;
    while (ve > vs && (buf[ve - 1] === 32 || buf[ve - 1] === 9)) ve--;
    let k = classify(buf, p, colon - p);
    if (named !== null && k !== K.Connection && named.has(buf.latin1Slice(p, colon).toLowerCase())) k = K.Drop;
    let keep = false;
    switch (k) {
      case K.Keep:
        keep = true;
        break;
      case K.Drop:
        break;
      case K.Host:
        hosts++;
        h.host = buf.latin1Slice(vs, ve);
        keep = true;
        break;
      case K.Xff: {
        const v = buf.latin1Slice(vs, ve);
        h.xff = h.xff === null ? v : `${h.xff}, ${v}`;
        break;
      }
      case K.XfProto: {
        const v = buf.latin1Slice(vs, ve);
        h.xfProto = h.xfProto === null ? v : `${h.xfProto}, ${v}`;
        break;
      }
      case K.XfHost: {
        const v = buf.latin1Slice(vs, ve);
        h.xfHost = h.xfHost === null ? v : `${h.xfHost}, ${v}`;
        break;
      }
      case K.RealIp:
        h.realIp ??= buf.latin1Slice(vs, ve);
        break;
      case K.Forwarded: {
        const line = buf.latin1Slice(p, le + 2);
        h.forwarded = h.forwarded === null ? line : h.forwarded + line;
        break;
      }
      case K.Cookie: {
        const v = buf.latin1Slice(vs, ve);
        h.cookie = h.cookie === null ? v : `${h.cookie}; ${v}`;
        keep = true;
        break;
      }
      case K.ContentLength: {
        // one line goes upstream, with the value alone (RFC 9110 §8.6), where the first one was
        const n = contentLength(buf, vs, ve);
        if (n === -2 || (h.contentLength !== -1 && n !== h.contentLength)) return fail(h, 400, 'invalid or conflicting Content-Length');
        if (h.contentLength === -1) {
          // (the usual `Content-Length: 123` line goes as it is)
          if (vs === colon + 2 && buf[colon + 1] === 32 && ve === le && digits(buf, vs, ve)) keep = true;
          else norm = `Content-Length: ${n}\r\n`;
        }
        h.contentLength = n;
        break;
      }
      case K.TransferEncoding: {
        // only chunked alone is forwarded (checked below): as one line, where the first one was
        const v = buf.latin1Slice(vs, ve);
        if (te === null) norm = 'Transfer-Encoding: chunked\r\n';
        te = te === null ? v : `${te},${v}`;
        break;
      }
      case K.Connection: {
        const v = buf.latin1Slice(vs, ve);
        connection = connection === null ? v : `${connection},${v}`;
        break;
      }
      case K.Upgrade:
        h.upgrade = buf.latin1Slice(vs, ve);
        break;
    }
    if (!keep) {
      if (p > keepFrom) fwd += buf.latin1Slice(keepFrom, p);
      keepFrom = le + 2;
      if (norm !== null) {
        fwd += norm;
        norm = null;
      }
    }
    p = le + 2;
  }
  if (end + 2 > keepFrom) fwd += buf.latin1Slice(keepFrom, end + 2);
  h.fwd = fwd;

  if (hosts > 1) return fail(h, 400, 'more than one Host header');
  if (hosts === 0 && !h.http10) return fail(h, 400, 'HTTP/1.1 request without Host');
  if (te !== null) {
    if (h.http10) return fail(h, 400, 'Transfer-Encoding in an HTTP/1.0 request');
    if (h.contentLength !== -1) return fail(h, 400, 'both Content-Length and Transfer-Encoding');
    const codings = te.split(',');
    const last = trimOws(codings[codings.length - 1]!).toLowerCase();
    if (last !== 'chunked') return fail(h, 400, 'Transfer-Encoding must end in chunked');
    if (codings.length !== 1) return fail(h, 501, 'only Transfer-Encoding: chunked is supported');
    h.chunked = true;
  }
  let sawUpgrade = false;
  if (connection !== null) {
    let extra: Set<string> | null = null;
    for (const token of connection.split(',')) {
      const t = trimOws(token).toLowerCase();
      if (FRAMING.has(t)) return fail(h, 400, `the Connection header names ${t}, which the router frames or routes by`);
      if (t === 'close') h.close = true;
      else if (t === 'keep-alive' || t === '') continue;
      else if (t === 'upgrade') sawUpgrade = true;
      else (extra ??= new Set()).add(t);
    }
    if (extra !== null && named === null) {
      const close = h.close;
      const r = parseRequestHead(buf, end, h, extra);
      h.close = close;
      return r;
    }
  }
  if (!sawUpgrade) h.upgrade = null;
  return 0;
}
