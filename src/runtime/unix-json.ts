import http from 'node:http';

/** An error answer from a control API: the status and the `error` text of its body. */
export class ControlApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlApiError';
  }
}

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Most bytes of an answer from a control API (a status or metrics document is far smaller). */
export const MAX_CONTROL_ANSWER = 64 * 1024 * 1024;

/**
 * One JSON request to an HTTP API on a unix socket (the daemon's and the router's control APIs).
 * Resolves with the parsed body of a 2xx answer; rejects with ControlApiError for others, and
 * with the socket error (ENOENT, ECONNREFUSED) when nothing listens.
 */
export function callUnix<T>(socketPath: string, method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      {
        socketPath,
        method,
        path,
        agent: false,
        headers: { host: 'deployer', ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}) },
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_CONTROL_ANSWER) return void chunks.push(c);
          req.destroy(new Error(`answer from ${socketPath} ${method} ${path} over ${MAX_CONTROL_ANSWER} bytes: refused, the rest not read`));
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve(parsed as T);
          else {
            const msg = parsed && typeof parsed === 'object' && 'error' in parsed ? String((parsed as { error: unknown }).error) : `HTTP ${status}: ${text.slice(0, 200)}`;
            reject(new ControlApiError(status, msg));
          }
        });
      },
    );
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`no answer from ${socketPath} ${method} ${path} within ${opts.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/** Most bytes a control request's body may have. */
export const MAX_CONTROL_BODY = 1024 * 1024;
const CAP = `1 MiB (${MAX_CONTROL_BODY} bytes)`;

/**
 * A request's body, counted as it streams: a declared content-length over the cap is refused
 * before a byte is read, a longer body as soon as it passes the cap (ControlApiError 413; the
 * rest is not read). The answer to a refused request must close the connection: see closeAfter.
 */
export function readBodyCapped(req: http.IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_CONTROL_BODY) return Promise.reject(new ControlApiError(413, `request body of ${declared} bytes: over ${CAP}, refused`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size <= MAX_CONTROL_BODY) return void chunks.push(c);
      done();
      req.pause();
      reject(new ControlApiError(413, `request body over ${CAP}: refused`));
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks));
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** After a 413 the rest of the body is not read: the answer says `connection: close`, and the connection goes once it is sent. */
export function closeAfter(res: http.ServerResponse, status: number): void {
  if (status !== 413 || res.headersSent) return;
  res.setHeader('connection', 'close');
  // the response lets go of its socket when it finishes: hold on to it here
  const socket = res.socket;
  res.once('finish', () => socket?.destroy());
}

/** Reads a request's JSON body (at most 1 MiB: readBodyCapped); an empty body is `{}`. */
export async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  const text = (await readBodyCapped(req)).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new ControlApiError(400, 'request body is not valid JSON');
  }
}

export function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': data.length });
  res.end(data);
}
