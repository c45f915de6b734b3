import { createServer } from 'node:net';
import { request } from 'node:http';

/** A port that was free a moment ago (bind to 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A base port B such that B + each offset was free a moment ago (the runtime's pools: base+i, base+100+i). */
export async function freePortRange(offsets: number[], tries = 50): Promise<number> {
  const top = Math.max(...offsets);
  for (let i = 0; i < tries; i++) {
    const base = 20_000 + Math.floor(Math.random() * (40_000 - top));
    const free = await Promise.all(offsets.map((o) => canListen(base + o)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no free port range for offsets ${offsets.join(',')}`);
}

export interface HttpAnswer {
  status: number;
  body: string;
}

/** One GET on loopback with a fresh connection; rejects on a socket error. */
export function get(port: number, path = '/', timeoutMs = 2000, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs, headers: { connection: 'close', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** Polls `fn` until it returns a value that is not undefined, or throws after the deadline. */
export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** The version an app on `port` serves, or undefined when it does not answer. */
export async function servedVersion(port: number): Promise<string | undefined> {
  try {
    const r = await get(port, '/');
    return r.status === 200 ? r.body.trim() : undefined;
  } catch {
    return undefined;
  }
}
