// WebSocket (any Upgrade request): pick a target as for a request, open a TCP connection to it,
// replay the request head (with X-Forwarded-*) and pipe both ways while it is open.
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { forwardHeaders, type RequestScan } from './headers.js';
import { pickPool, pickTarget } from './select.js';
import type { Listener } from './server.js';

function refuse(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}connection: close\r\n\r\n`);
}

export function proxyUpgrade(listener: Listener, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  socket.on('error', () => socket.destroy());
  const scan: RequestScan = { host: null, cookie: null, hasBody: false };
  const headers = forwardHeaders(req.rawHeaders, req.socket.remoteAddress ?? '', scan, true);
  const app = listener.resolve(scan.host);
  if (app === null) return refuse(socket, 404, 'Not Found');
  const ctx = listener.ctx;
  const pi = pickPool(app.pools, app.weights, ctx.random(), null);
  if (pi === -1) return refuse(socket, 503, 'Service Unavailable');
  const target = pickTarget(app.pools[pi]!, null)!;
  target.inFlight++;
  listener.upgraded.add(socket);
  let released = false;
  let connected = false;
  const release = (): void => {
    if (released) return;
    released = true;
    listener.upgraded.delete(socket);
    target.release();
  };
  const up = connect({ host: target.host, port: target.port });
  up.once('connect', () => {
    connected = true;
    let h = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < headers.length; i += 2) h += `${headers[i]}: ${headers[i + 1]}\r\n`;
    up.write(`${h}\r\n`);
    if (head.length > 0) up.write(head);
    // WebSocket has no use for half-closed connections: when one side ends, finish the other
    socket.pipe(up, { end: false });
    up.pipe(socket, { end: false });
  });
  socket.on('end', () => up.end(() => up.destroy()));
  up.on('end', () => socket.end(() => socket.destroy()));
  up.on('error', (e: NodeJS.ErrnoException) => {
    if (!connected) {
      if (e.code === 'ECONNREFUSED') ctx.markUnhealthy(app, target, `${e.code}: ${e.message}`);
      refuse(socket, 502, 'Bad Gateway');
    } else {
      socket.destroy();
    }
    up.destroy();
  });
  up.on('close', () => {
    if (connected) socket.destroy();
    release();
  });
  socket.on('close', () => {
    up.destroy();
    release();
  });
}
