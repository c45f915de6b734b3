// One GET returning JSON, for the http and prometheus providers. Never rejects.
import { basicAuth, displayUrlsIn, withoutCredentials } from '../util/url.js';
import { tail } from './format.js';

export type JsonAnswer = { ok: true; status: number; json: unknown } | { ok: false; status: number | null; reason: string; json?: unknown };

/** A larger body is refused, unread past it (a metric endpoint answers a small document). */
export const MAX_METRIC_BODY_BYTES = 1024 * 1024;
const CAP = `1 MiB (${MAX_METRIC_BODY_BYTES} bytes)`;

/** The body as text, or null once it passes the cap (the rest is not read: the stream is cancelled). */
async function readCapped(res: Response): Promise<string | null> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_METRIC_BODY_BYTES) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `timed out after ${timeoutMs} ms`;
  const cause = err?.cause?.code ?? err?.cause?.message;
  // fetch's own messages may repeat the URL (with its credentials or query string)
  return displayUrlsIn(cause ? `${err.message}: ${cause}` : String(err?.message ?? e));
}

/**
 * GET `url` with a timeout (AbortSignal); the body parsed as JSON whatever the status, when it is
 * JSON. A user:password in the URL is sent as basic auth (fetch refuses URLs that carry them).
 */
export async function fetchJson(f: typeof fetch, url: string, o: { headers?: Record<string, string>; timeoutMs: number }): Promise<JsonAnswer> {
  let status: number | null = null;
  const plain = withoutCredentials(url);
  const auth: Record<string, string> = plain.user !== undefined ? { authorization: basicAuth(plain.user, plain.password ?? '') } : {};
  try {
    const res = await f(plain.url, { method: 'GET', headers: { accept: 'application/json', ...auth, ...o.headers }, signal: AbortSignal.timeout(o.timeoutMs), redirect: 'follow' });
    status = res.status;
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (declared > MAX_METRIC_BODY_BYTES) {
      await res.body?.cancel().catch(() => {});
      return { ok: false, status, reason: `HTTP ${status} with a body of ${declared} bytes: over ${CAP}, refused unread` };
    }
    const text = await readCapped(res);
    if (text === null) return { ok: false, status, reason: `HTTP ${status} with a body over ${CAP}: refused, the rest not read` };
    let json: unknown;
    let parsed = true;
    try {
      json = JSON.parse(text);
    } catch {
      parsed = false;
    }
    if (!res.ok) {
      const body = tail(text.slice(0, 2000), 2, 200);
      return { ok: false, status, reason: `HTTP ${status}${body ? `: ${body}` : ''}`, ...(parsed ? { json } : {}) };
    }
    if (!parsed) return { ok: false, status, reason: `HTTP ${status} but the body is not JSON${text.trim() ? `: ${tail(text.slice(0, 200), 1, 80)}` : ' (empty)'}` };
    return { ok: true, status, json };
  } catch (e) {
    return { ok: false, status, reason: describeError(e, o.timeoutMs) };
  }
}
