// The public listeners: one TCP server per host:port (HTTP/1.1 parsed by http1/), shared by the apps that listen there
// and told apart by the Host header.
import { createServer, type Server, type Socket } from 'node:net';
import type { RouterLimits } from '../model.js';
import { RouterError } from './errors.js';
import { ClientConn } from './http1/client-conn.js';
import type { ProxyContext } from './http1/exchange.js';
import { DEFAULT_LIMITS, listenerLimits, sweepPeriodMs } from './limits.js';
import type { AppRt } from './state.js';
import type { Tunnel } from './upgrade.js';

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

export class Listener {
  readonly apps = new Set<AppRt>();
  /** open upgraded (WebSocket) connections: the server does not track them */
  readonly tunnels = new Set<Tunnel>();
  /** open client connections (not upgraded) */
  readonly conns = new Set<ClientConn>();
  /** open connections (upgraded ones too) per client address */
  private readonly perClient = new Map<string, number>();
  /** the bounds of its apps (limits.ts) */
  limits: RouterLimits = { ...DEFAULT_LIMITS };
  /** bytes held by unfinished request heads (the sum of the connections' headHeld) */
  headMemory = 0;
  /** connections closed at accept: over maxConnections, over maxConnectionsPerClient */
  refusedTotal = 0;
  refusedPerClient = 0;
  private byHost = new Map<string, AppRt>();
  private fallback: AppRt | null = null;
  private closing: Promise<void> | null = null;
  /** ctx.now() at the last sweep: a coarse clock for the connections' deadlines (cheaper than a timer each) */
  clock: number;
  private sweeper: NodeJS.Timeout;
  private periodMs: number;

  private constructor(
    readonly key: string,
    readonly server: Server,
    readonly ctx: ProxyContext,
  ) {
    this.clock = ctx.now();
    this.periodMs = sweepPeriodMs(this.limits);
    this.sweeper = this.startSweep();
  }

  private startSweep(): NodeJS.Timeout {
    const t = setInterval(() => this.sweep(), this.periodMs);
    t.unref();
    return t;
  }

  /** Lets go of connections past a deadline (client-lifetime.ts) and of idle tunnels. */
  private sweep(): void {
    const now = (this.clock = this.ctx.now());
    for (const c of this.conns) c.sweep(now);
    const idleMs = this.limits.tunnelIdleTimeoutMs;
    for (const t of this.tunnels) if (now - t.lastAt >= idleMs) t.destroy();
  }

  /** Whether a new connection is within the caps (else it is closed and counted); it is counted until forget(). */
  private admit(socket: Socket, ip: string): boolean {
    const lim = this.limits;
    const n = this.perClient.get(ip) ?? 0;
    if (this.conns.size + this.tunnels.size >= lim.maxConnections) this.refusedTotal++;
    else if (n >= lim.maxConnectionsPerClient) this.refusedPerClient++;
    else {
      this.perClient.set(ip, n + 1);
      return true;
    }
    socket.destroy();
    return false;
  }

  /** A connection from `ip` (admitted) closed. */
  forget(ip: string): void {
    const n = (this.perClient.get(ip) ?? 1) - 1;
    if (n <= 0) this.perClient.delete(ip);
    else this.perClient.set(ip, n);
  }

  /** Binds host:port; a failure is a RouterError 409 saying why. */
  static async open(host: string, port: number, ctx: ProxyContext): Promise<Listener> {
    const key = listenKey({ host, port });
    const server = createServer({ allowHalfOpen: true, noDelay: true });
    const l = new Listener(key, server, ctx);
    server.on('connection', (socket: Socket) => {
      if (l.closing !== null) return void socket.destroy();
      const ip = socket.remoteAddress ?? '';
      if (l.admit(socket, ip)) l.conns.add(new ClientConn(socket, l, ip));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void => {
        const why =
          e.code === 'EADDRINUSE' ? 'is already in use by another program' : e.code === 'EACCES' ? 'needs privileges this process lacks (permission denied)' : e.code === 'EADDRNOTAVAIL' ? 'is not an address of this machine' : `cannot be listened on (${e.message})`;
        clearInterval(l.sweeper);
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
    this.limits = listenerLimits([...this.apps].map((a) => a.spec));
    const period = sweepPeriodMs(this.limits);
    if (period !== this.periodMs && this.closing === null) {
      clearInterval(this.sweeper);
      this.periodMs = period;
      this.sweeper = this.startSweep();
    }
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

  isClosing(): boolean {
    return this.closing !== null;
  }

  /** Stops accepting; open connections finish their request (forced closed after graceMs). */
  close(graceMs: number): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      const closeIdle = (): void => {
        for (const c of this.conns) c.closeIfIdle();
      };
      const idle = setInterval(closeIdle, 50);
      const force = setTimeout(() => {
        for (const c of this.conns) c.destroy();
        for (const t of this.tunnels) t.destroy();
      }, graceMs);
      this.server.close(() => {
        clearInterval(this.sweeper);
        clearInterval(idle);
        clearTimeout(force);
        resolve();
      });
      closeIdle();
    });
    return this.closing;
  }
}
