// Header rewriting between client and target: hop-by-hop headers dropped both ways,
// X-Forwarded-* set on the way in. Works on Node's flat rawHeaders arrays (no header objects).

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

export function isHopByHop(name: string): boolean {
  return HOP_BY_HOP.has(name.toLowerCase());
}

const enum Kind {
  Keep,
  Drop,
  Host,
  Xff,
  Cookie,
  ContentLength,
  TransferEncoding,
  Connection,
}

/**
 * Classifies a request header name. The length switch keeps the common case (a header we pass on
 * unchanged) to one integer compare, without lower-casing.
 */
function classify(name: string, upgrade: boolean): Kind {
  switch (name.length) {
    case 2:
      return name.toLowerCase() === 'te' ? Kind.Drop : Kind.Keep;
    case 4:
      return name.toLowerCase() === 'host' ? Kind.Host : Kind.Keep;
    case 6: {
      const l = name.toLowerCase();
      if (l === 'cookie') return Kind.Cookie;
      // undici refuses Expect; Node's server has already answered 100-continue to the client
      return l === 'expect' ? Kind.Drop : Kind.Keep;
    }
    case 7: {
      const l = name.toLowerCase();
      if (l === 'trailer') return Kind.Drop;
      return l === 'upgrade' ? (upgrade ? Kind.Keep : Kind.Drop) : Kind.Keep;
    }
    case 10: {
      const l = name.toLowerCase();
      if (l === 'connection') return Kind.Connection;
      return l === 'keep-alive' ? Kind.Drop : Kind.Keep;
    }
    case 14:
      return name.toLowerCase() === 'content-length' ? Kind.ContentLength : Kind.Keep;
    case 15:
      return name.toLowerCase() === 'x-forwarded-for' ? Kind.Xff : Kind.Keep;
    case 16: {
      const l = name.toLowerCase();
      return l === 'proxy-connection' || l === 'x-forwarded-host' ? Kind.Drop : Kind.Keep;
    }
    case 17: {
      const l = name.toLowerCase();
      if (l === 'transfer-encoding') return Kind.TransferEncoding;
      return l === 'x-forwarded-proto' ? Kind.Drop : Kind.Keep;
    }
    default:
      return Kind.Keep;
  }
}

/** What a scan of the request headers found besides the headers to forward. */
export interface RequestScan {
  host: string | null;
  cookie: string | null;
  /** the request has a body (content-length > 0 or a transfer-encoding) */
  hasBody: boolean;
}

/**
 * Headers to send to the target as a flat [name, value, ...] array: the client's minus hop-by-hop
 * (and headers the Connection header names), plus X-Forwarded-For (appended), -Proto and -Host.
 * With `upgrade`, Connection and Upgrade are kept (the head of a WebSocket handshake).
 */
export function forwardHeaders(raw: string[], clientIp: string, scan: RequestScan, upgrade = false): string[] {
  const out: string[] = [];
  let xff: string | null = null;
  let connection: string | null = null;
  scan.host = null;
  scan.cookie = null;
  scan.hasBody = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (classify(name, upgrade)) {
      case Kind.Keep:
        out.push(name, value);
        break;
      case Kind.Drop:
        break;
      case Kind.Host:
        scan.host = value;
        out.push(name, value);
        break;
      case Kind.Xff:
        xff = xff === null ? value : `${xff}, ${value}`;
        break;
      case Kind.Cookie:
        scan.cookie = scan.cookie === null ? value : `${scan.cookie}; ${value}`;
        out.push(name, value);
        break;
      case Kind.ContentLength:
        if (value !== '0') scan.hasBody = true;
        out.push(name, value);
        break;
      case Kind.TransferEncoding:
        scan.hasBody = true;
        break;
      case Kind.Connection:
        connection = connection === null ? value : `${connection},${value}`;
        if (upgrade) out.push(name, value);
        break;
    }
  }
  out.push('x-forwarded-for', xff === null ? clientIp : `${xff}, ${clientIp}`, 'x-forwarded-proto', 'http');
  if (scan.host !== null) out.push('x-forwarded-host', scan.host);
  return connection === null ? out : dropNamedByConnection(out, connection, upgrade);
}

/** Removes the headers a Connection header lists (they are hop-by-hop too). */
function dropNamedByConnection(headers: string[], connection: string, upgrade: boolean): string[] {
  const named = new Set<string>();
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t && t !== 'close' && t !== 'keep-alive' && !(upgrade && t === 'upgrade')) named.add(t);
  }
  if (named.size === 0) return headers;
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    if (!named.has(headers[i]!.toLowerCase())) out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/** A target's raw response headers (Buffers from undici) as a flat string array, minus hop-by-hop. */
export function responseHeaders(raw: readonly (Buffer | string)[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toString('latin1');
    const len = name.length;
    if ((len === 2 || len === 7 || len === 10 || len === 16 || len === 17) && HOP_BY_HOP.has(name.toLowerCase())) continue;
    out.push(name, raw[i + 1]!.toString('latin1'));
  }
  return out;
}
