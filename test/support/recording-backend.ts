// A target that records exactly the bytes each connection brought and frames them with a strict
// RFC 9112 reading of its own (the oracle a smuggling test compares the router against): every
// request it can frame gets a 200, anything it cannot gets a 400 and the connection closes.
import { createServer, type Server, type Socket } from 'node:net';

export interface FramedRequest {
  head: string;
  body: Buffer;
}

export type Framing = { kind: 'request'; req: FramedRequest; end: number } | { kind: 'more' } | { kind: 'bad'; why: string };

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
const REQUEST_LINE = new RegExp(`^${TOKEN} [\\x21-\\x7e]+ HTTP/1\\.[01]$`);
const FIELD_LINE = new RegExp(`^(${TOKEN}):[ \\t]*([\\t\\x20-\\x7e\\x80-\\xff]*?)[ \\t]*$`);
const QUOTED = '"(?:[\\t \\x21\\x23-\\x5b\\x5d-\\x7e\\x80-\\xff]|\\\\[\\t \\x21-\\x7e\\x80-\\xff])*"';
const EXT = `(?:[ \\t]*;[ \\t]*${TOKEN}(?:[ \\t]*=[ \\t]*(?:${TOKEN}|${QUOTED}))?)*`;
const CHUNK_LINE = new RegExp(`^([0-9A-Fa-f]{1,16})${EXT}$`);
/** fields that must not be in a trailer section or named by Connection */
const FRAMING = new Set(['content-length', 'transfer-encoding', 'host']);

/** The line at buf[from...] up to its CRLF: [text, index past the CRLF], 'more', or 'bad' (a bare CR or LF). */
function line(buf: Buffer, from: number): [string, number] | 'more' | 'bad' {
  let i = from;
  while (i < buf.length && buf[i] !== 13 && buf[i] !== 10) i++;
  if (i >= buf.length) return 'more';
  if (buf[i] === 10) return 'bad';
  if (i === buf.length - 1) return 'more';
  if (buf[i + 1] !== 10) return 'bad';
  return [buf.latin1Slice(from, i), i + 2];
}

/** Frames the request at buf[from...] strictly: one request, more bytes needed, or why it is not one. */
export function frameRequest(buf: Buffer, from: number): Framing {
  const end = buf.indexOf('\r\n\r\n', from, 'latin1');
  if (end === -1) return { kind: 'more' };
  const lines = buf.latin1Slice(from, end).split('\r\n');
  if (lines.some((l) => /[\r\n\0]/.test(l))) return { kind: 'bad', why: 'a bare CR, LF or NUL in the head' };
  if (!REQUEST_LINE.test(lines[0]!)) return { kind: 'bad', why: `request line ${JSON.stringify(lines[0])}` };
  let hosts = 0;
  let length: number | null = null;
  let chunked = false;
  for (const l of lines.slice(1)) {
    const m = FIELD_LINE.exec(l);
    if (m === null) return { kind: 'bad', why: `field line ${JSON.stringify(l)}` };
    const name = m[1]!.toLowerCase();
    if (name === 'host') hosts++;
    if (name === 'content-length') {
      if (length !== null || !/^Content-Length: \d{1,15}$/i.test(l)) return { kind: 'bad', why: `Content-Length line ${JSON.stringify(l)}` };
      length = Number(m[2]);
    }
    if (name === 'transfer-encoding') {
      if (chunked || !/^Transfer-Encoding: chunked$/i.test(l)) return { kind: 'bad', why: `Transfer-Encoding line ${JSON.stringify(l)}` };
      chunked = true;
    }
    if (name === 'connection' && m[2]!.split(',').some((t) => FRAMING.has(t.trim().toLowerCase()))) return { kind: 'bad', why: `Connection names a framing field: ${l}` };
  }
  if (hosts !== 1 && lines[0]!.endsWith('1.1')) return { kind: 'bad', why: `${hosts} Host fields` };
  if (chunked && length !== null) return { kind: 'bad', why: 'both Content-Length and Transfer-Encoding' };
  if (chunked && lines[0]!.endsWith('1.0')) return { kind: 'bad', why: 'Transfer-Encoding in HTTP/1.0' };
  const head = buf.latin1Slice(from, end + 4);
  let p = end + 4;
  if (!chunked) {
    const n = length ?? 0;
    if (buf.length - p < n) return { kind: 'more' };
    return { kind: 'request', req: { head, body: buf.subarray(p, p + n) }, end: p + n };
  }
  const body: Buffer[] = [];
  for (;;) {
    const l = line(buf, p);
    if (l === 'more') return { kind: 'more' };
    if (l === 'bad') return { kind: 'bad', why: 'a bare CR or LF in a chunk line' };
    const m = CHUNK_LINE.exec(l[0]);
    if (m === null) return { kind: 'bad', why: `chunk line ${JSON.stringify(l[0])}` };
    const size = parseInt(m[1]!, 16);
    p = l[1];
    if (size === 0) break;
    if (buf.length < p + size + 2) return { kind: 'more' };
    if (buf[p + size] !== 13 || buf[p + size + 1] !== 10) return { kind: 'bad', why: 'chunk data not followed by CRLF' };
    body.push(buf.subarray(p, p + size));
    p += size + 2;
  }
  for (;;) {
    const l = line(buf, p);
    if (l === 'more') return { kind: 'more' };
    if (l === 'bad') return { kind: 'bad', why: 'a bare CR or LF in the trailer section' };
    p = l[1];
    if (l[0] === '') return { kind: 'request', req: { head, body: Buffer.concat(body) }, end: p };
    const m = FIELD_LINE.exec(l[0]);
    if (m === null || FRAMING.has(m[1]!.toLowerCase())) return { kind: 'bad', why: `trailer line ${JSON.stringify(l[0])}` };
  }
}

interface Conn {
  buf: Buffer;
  /** bytes framed as requests */
  used: number;
  /** the connection closed */
  closed: boolean;
}

export interface RecordingBackend {
  port: number;
  /** the connections that brought bytes (since reset), with all their bytes */
  conns: Conn[];
  requests: FramedRequest[];
  /** why the oracle refused what a connection brought */
  errors: string[];
  /** bytes on any connection that are not part of a complete request */
  leftover(): number;
  reset(): void;
  close(): Promise<void>;
}

/**
 * The target: it answers the first request of each connection with a 200 (body `ok:<body
 * length>`) and closes, so every request the router sends comes on a fresh connection, and keeps
 * recording (and framing) what comes after.
 */
export async function recordingBackend(): Promise<RecordingBackend> {
  const socks = new Set<Socket>();
  const b: RecordingBackend = {
    port: 0,
    conns: [],
    requests: [],
    errors: [],
    leftover: () => b.conns.reduce((n, c) => n + c.buf.length - c.used, 0),
    reset: () => {
      b.conns = [];
      b.requests = [];
      b.errors = [];
    },
    close: async () => {
      for (const s of socks) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
  const server: Server = createServer((sock) => {
    socks.add(sock);
    sock.on('close', () => {
      socks.delete(sock);
      if (conn !== null) conn.closed = true;
    });
    sock.on('error', () => undefined);
    let conn: Conn | null = null;
    let bad = false;
    sock.on('data', (d: Buffer) => {
      if (conn === null) b.conns.push((conn = { buf: d, used: 0, closed: false }));
      else conn.buf = Buffer.concat([conn.buf, d]);
      while (!bad) {
        const r = frameRequest(conn.buf, conn.used);
        if (r.kind === 'more') return;
        if (r.kind === 'bad') {
          bad = true;
          b.errors.push(r.why);
          return void sock.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
        }
        if (conn.used === 0) {
          const body = `ok:${r.req.body.length}`;
          sock.end(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`);
        }
        conn.used = r.end;
        b.requests.push(r.req);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  b.port = (server.address() as { port: number }).port;
  return b;
}
