// WebSocket (any Upgrade request): pick a target as for a request, open a TCP connection to it,
// send the request head (with X-Forwarded-*, Connection: upgrade) and pipe both ways while it is open.
import { connect, type Socket } from 'node:net';
import { pickPool, pickTarget } from './select.js';
import type { Listener } from './server.js';
import type { AppRt } from './state.js';

function refuse(socket: Socket, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: 0\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}connection: close\r\n\r\n`);
}

/** `head`: the request head to send upstream; `rest`: bytes the client sent after it. */
export function proxyUpgrade(listener: Listener, app: AppRt, socket: Socket, head: string, rest: Buffer | null): void {
  socket.on('error', () => socket.destroy());
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
  // hold what the client sends until the target is connected
  socket.pause();
  const up = connect({ host: target.host, port: target.port, noDelay: true });
  up.once('connect', () => {
    connected = true;
    up.write(head, 'latin1');
    if (rest !== null && rest.length > 0) up.write(rest);
    // WebSocket has no use for half-closed connections: when one side ends, finish the other
    socket.pipe(up, { end: false });
    up.pipe(socket, { end: false });
    socket.resume();
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
