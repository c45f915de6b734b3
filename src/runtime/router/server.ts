// The public listeners: one node:http server per host:port, shared by the apps that listen there
// and told apart by the Host header.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { RouterError } from './errors.js';
import { forwardHeaders, type RequestScan } from './headers.js';
import { proxyRequest, type ProxyContext } from './proxy.js';
import type { AppRt } from './state.js';
import { proxyUpgrade } from './upgrade.js';

export function listenKey(l: { host: string; port: number }): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

/** The host part of a Host header, lower-cased, without the port. */
export function hostOf(header: string): string {
  let h = header;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf(']');
    h = end === -1 ? h : h.slice(1, end);
  } else {
    const colon = h.indexOf(':');
    if (colon !== -1) h = h.slice(0, colon);
  }
  return h.toLowerCase();
}

const kListener = Symbol('listener');
type Srv = Server & { [kListener]: Listener };

// scratch for the synchronous header scan (one request at a time on this thread)
const scan: RequestScan = { host: null, cookie: null, hasBody: false };

function onRequest(this: Srv, req: IncomingMessage, res: ServerResponse): void {
  const listener = this[kListener];
  const url = req.url ?? '';
  const headers = forwardHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', scan);
  const app = listener.resolve(scan.host);
  if (app === null) return plain(res, 404, 'not found: no app serves this host\n');
  if (url.charCodeAt(0) !== 47 /* / */ && url !== '*') return plain(res, 400, 'bad request: the request target must be a path\n');
  proxyRequest(listener.ctx, app, req, res, headers, scan.hasBody, scan.cookie);
}

function onUpgrade(this: Srv, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  proxyUpgrade(this[kListener], req, socket, head);
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, ['content-type', 'text/plain; charset=utf-8', 'content-length', String(Buffer.byteLength(body))]);
  res.end(body);
}

export class Listener {
  readonly apps = new Set<AppRt>();
  /** client sockets of open upgraded (WebSocket) connections: the server does not track them */
  readonly upgraded = new Set<Duplex>();
  private byHost = new Map<string, AppRt>();
  private fallback: AppRt | null = null;
  private closing: Promise<void> | null = null;

  private constructor(
    readonly key: string,
    readonly server: Server,
    readonly ctx: ProxyContext,
  ) {}

  /** Binds host:port; a failure is a RouterError 409 saying why. */
  static async open(host: string, port: number, ctx: ProxyContext): Promise<Listener> {
    const key = listenKey({ host, port });
    const server = createServer({ requestTimeout: 0, headersTimeout: 60_000 });
    server.keepAliveTimeout = 65_000;
    const l = new Listener(key, server, ctx);
    (server as Srv)[kListener] = l;
    server.on('request', onRequest);
    server.on('upgrade', onUpgrade);
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const why =
          e.code === 'EADDRINUSE' ? 'is already in use by another program' : e.code === 'EACCES' ? 'needs privileges this process lacks (permission denied)' : e.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : `cannot be listened on (${e.message})`;
        reject(new RouterError(409, `router.listen: ${key} ${why}`));
      };
      server.once('error', onError);
      server.listen({ host, port }, () => {
        server.off('error', onError);
        resolve();
      });
    });
    return l;
  }

  /** Recomputes Host routing from the apps' hostnames. */
  rebuild(): void {
    const byHost = new Map<string, AppRt>();
    let fallback: AppRt | null = null;
    for (const app of this.apps) {
      if (app.spec.hostnames.length === 0) fallback = app;
      for (const h of app.spec.hostnames) byHost.set(h.toLowerCase(), app);
    }
    this.byHost = byHost;
    this.fallback = fallback;
  }

  /** The app a request with this Host header goes to, or null. */
  resolve(host: string | null): AppRt | null {
    if (this.byHost.size === 0 || host === null) return this.fallback;
    return this.byHost.get(hostOf(host)) ?? this.fallback;
  }

  /** Why `app` cannot join this listener (a hostname or the default taken by another app), or null. */
  conflict(app: { name: string; hostnames: string[] }): string | null {
    for (const other of this.apps) {
      if (other.spec.name === app.name) continue;
      if (app.hostnames.length === 0 && other.spec.hostnames.length === 0) return `router.hostnames: app ${other.spec.name} is already the default app of ${this.key} (give one of them hostnames)`;
      for (const h of app.hostnames) {
        if (other.spec.hostnames.some((o) => o.toLowerCase() === h.toLowerCase())) return `router.hostnames: ${h} on ${this.key} is already routed to app ${other.spec.name}`;
      }
    }
    return null;
  }

  /** Stops accepting; open connections finish their request (forced closed after graceMs). */
  close(graceMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const server = this.server;
      const idle = setInterval(() => server.closeIdleConnections(), 50);
      const force = setTimeout(() => {
        server.closeAllConnections();
        for (const s of this.upgraded) s.destroy();
      }, graceMs);
      server.close(() => {
        clearInterval(idle);
        clearTimeout(force);
        resolve();
      });
      server.closeIdleConnections();
    });
    return this.closing;
  }
}
