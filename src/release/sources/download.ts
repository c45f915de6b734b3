import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SourceError, errorMessage } from '../../errors.js';
import { basicAuth, displayUrl, displayUrlsIn, withoutCredentials } from '../../util/url.js';

const DEFAULT_TIMEOUT_MS = 10 * 60_000;
const FIRST_BYTE_TIMEOUT_MS = 30_000;

/** SHA-256 of a file, lowercase hex, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

class Timeout extends Error {}

/**
 * Downloads an http(s) URL to `dest`, streamed, hashing while writing. Credentials in the URL are
 * sent as HTTP basic auth (fetch refuses URLs that carry them) and never appear in messages.
 * Redirects are followed. The whole download has `timeoutMs` (default 10 min); the response
 * headers must arrive within 30 s. On any failure `dest` is removed, so a half-written or
 * unverified file is never left where a later step could take it for the real thing.
 */
export async function downloadToFile(
  url: string,
  dest: string,
  opts: { expectedSha256?: string; timeoutMs?: number } = {},
): Promise<{ sha256: string; bytes: number }> {
  const shown = displayUrl(url);
  const plain = withoutCredentials(url);
  let target: URL;
  try {
    target = new URL(plain.url);
  } catch {
    throw new SourceError(`cannot download ${shown}: not a valid URL`);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    throw new SourceError(`cannot download ${shown}: only http and https URLs are supported`);
  }
  const expected = opts.expectedSha256?.trim().toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) {
    throw new SourceError(`cannot download ${shown}: the expected sha256 is not 64 hex digits`);
  }

  const headers: Record<string, string> = plain.user !== undefined ? { authorization: basicAuth(plain.user, plain.password ?? '') } : {};

  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const controller = new AbortController();
  const abortAfter = (ms: number, what: string) => {
    const t = setTimeout(() => controller.abort(new Timeout(`${what} after ${ms} ms`)), ms);
    t.unref();
    return t;
  };
  const whole = abortAfter(timeoutMs, 'timed out');
  const firstByte = abortAfter(Math.min(FIRST_BYTE_TIMEOUT_MS, timeoutMs), 'no response');
  const hash = createHash('sha256');
  let bytes = 0;
  let created = false;
  try {
    const res = await fetch(target, { headers, signal: controller.signal, redirect: 'follow' });
    clearTimeout(firstByte);
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new SourceError(`cannot download ${shown}: HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`);
    }
    if (!res.body) throw new SourceError(`cannot download ${shown}: the response has no body`);
    created = true;
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          hash.update(chunk);
          bytes += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(dest),
    );
  } catch (err) {
    if (created) await fs.rm(dest, { force: true });
    if (err instanceof SourceError) throw err;
    const reason = controller.signal.reason;
    if (reason instanceof Timeout) throw new SourceError(`cannot download ${shown}: ${reason.message}`, { cause: err });
    throw new SourceError(`cannot download ${shown}: ${describeNetworkError(err)}`, { cause: err });
  } finally {
    clearTimeout(whole);
    clearTimeout(firstByte);
  }

  const sha256 = hash.digest('hex');
  if (expected !== undefined && sha256 !== expected) {
    await fs.rm(dest, { force: true });
    throw new SourceError(`sha256 mismatch for ${shown}: expected ${expected}, got ${sha256}`);
  }
  return { sha256, bytes };
}

/** fetch says "fetch failed" and keeps the useful part (ECONNREFUSED, certificate…) in `cause`. */
function describeNetworkError(err: unknown): string {
  const cause = err instanceof Error ? err.cause : undefined;
  const msg = cause instanceof Error ? cause.message : errorMessage(err);
  // some undici messages repeat the request URL; never let credentials through that way
  return displayUrlsIn(msg);
}
