// The optional admin listener (--metrics-listen, PUT /settings): Prometheus text at GET /metrics.
import { createServer, type Server } from 'node:http';
import type { RouterCore } from './core.js';
import { RouterError } from './errors.js';
import { PROMETHEUS_CONTENT_TYPE } from './prometheus.js';

/** "host:port" (IPv6 as "[::1]:9100") → parts, or a RouterError 400. */
export function parseHostPort(s: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) throw new RouterError(400, `metricsListen: "${s}" is not host:port (e.g. 127.0.0.1:9100)`);
  return { host: (m[1] ?? m[2])!, port };
}

export class AdminListener {
  private server: Server | null = null;
  private current: string | null = null;

  constructor(private readonly core: RouterCore) {}

  get address(): string | null {
    return this.current;
  }

  /** Opens the listener on host:port (closing a previous one), or closes it with null. */
  async set(listen: string | null): Promise<void> {
    if (listen === this.current) return;
    let next: Server | null = null;
    if (listen !== null) {
      const { host, port } = parseHostPort(listen);
      next = createServer((req, res) => {
        if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
          res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE });
          res.end(this.core.prometheus());
        } else {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end('not found: GET /metrics\n');
        }
      });
      const srv = next;
      await new Promise<void>((resolve, reject) => {
        srv.once('error', (e: NodeJS.ErrnoException) => reject(new RouterError(409, `router.metricsListen: ${listen} ${e.code === 'EADDRINUSE' ? 'is already in use by another program' : `cannot be listened on (${e.message})`}`)));
        srv.listen({ host, port }, resolve);
      });
    }
    const old = this.server;
    this.server = next;
    this.current = listen;
    if (old !== null) {
      old.close();
      old.closeAllConnections();
    }
  }
}
