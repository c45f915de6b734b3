import http from 'node:http';
import https from 'node:https';
import type { CheckSpec, ProbeResult } from './types.js';
import { describeNetError } from './net-error.js';

type HttpSpec = Extract<CheckSpec, { type: 'http' }>;

/** Read at most this much of the body when looking for `bodyContains`. */
export const MAX_BODY_BYTES = 1024 * 1024;

/**
 * One HTTP request on a fresh connection (no agent, `Connection: close`), redirects not followed.
 * Never rejects.
 */
export function probeHttp(spec: HttpSpec, attemptTimeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const result = (ok: boolean, detail: string): ProbeResult => ({
    ok,
    detail,
    durationMs: performance.now() - started,
  });
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    return Promise.resolve(result(false, `invalid URL ${JSON.stringify(spec.url)}`));
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.resolve(result(false, `unsupported URL scheme ${url.protocol}`));
  }
  if (signal?.aborted) return Promise.resolve(result(false, 'aborted'));

  return new Promise<ProbeResult>((resolve) => {
    let settled = false;
    const timer = setTimeout(() => finish(false, `timed out after ${attemptTimeoutMs} ms`), attemptTimeoutMs);
    const onAbort = () => finish(false, 'aborted');
    signal?.addEventListener('abort', onAbort, { once: true });

    const request = (url.protocol === 'https:' ? https : http).request(url, {
      method: spec.method ?? 'GET',
      agent: false,
      headers: { 'user-agent': 'deployer-health-check', ...spec.headers, connection: 'close' },
    });
    function finish(ok: boolean, detail: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(result(ok, detail));
    }

    request.on('error', (err) => finish(false, describeNetError(err)));
    request.on('response', (res) => {
      res.on('error', (err) => finish(false, describeNetError(err)));
      const status = res.statusCode ?? 0;
      if (!spec.expectedStatus.includes(status)) {
        return finish(false, `HTTP ${status} (expected ${spec.expectedStatus.join(', ')})`);
      }
      const wanted = spec.bodyContains;
      if (wanted === undefined) return finish(true, `HTTP ${status}`);
      const chunks: Buffer[] = [];
      let size = 0;
      const judge = () => {
        const body = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
        if (body.includes(wanted)) finish(true, `HTTP ${status}`);
        else finish(false, `HTTP ${status} but body lacks ${JSON.stringify(wanted)}`);
      };
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) judge();
      });
      res.on('end', judge);
    });
    request.end();
  });
}
