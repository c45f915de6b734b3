// WebSocket (any Upgrade request): the request goes through an Exchange like any other (routing,
// X-Forwarded-*, Connection: upgrade); the client's further bytes are held until the target's
// response head is parsed. Only a 101 turns the connection into a tunnel (below), piping both ways
// while it is open; any other response is forwarded and the client connection closes after it.
import type { Socket } from 'node:net';
import type { Listener } from './server.js';
import type { TargetRt } from './state.js';
import type { Upstream, UpstreamOwner } from './http1/upstream-pool.js';

/**
 * The target answered 101: pipe `socket` (the client) and `up` both ways. `fromTarget`: bytes the
 * target sent after its 101 head (already written to the client); `fromClient`: bytes the client
 * sent after its request (held until now). The tunnel holds the target's in-flight slot while open.
 */
export class Tunnel implements UpstreamOwner {
  private released = false;
  /** the listener's clock when a byte last went either way (the sweep closes an idle tunnel) */
  lastAt: number;
  /** the upstream socket closed (also when destroyed here, which silences the owner callbacks) */
  private readonly onClose = (): void => {
    this.socket.destroy();
    this.release();
  };

  constructor(
    private readonly listener: Listener,
    private readonly socket: Socket,
    private readonly ip: string,
    private readonly up: Upstream,
    private readonly target: TargetRt,
    fromClient: Buffer | null,
    clientEnded: boolean,
  ) {
    this.lastAt = listener.clock;
    listener.tunnels.add(this);
    up.owner = this;
    up.clearHeadTimeout();
    const us = up.socket;
    if (fromClient !== null && fromClient.length > 0) us.write(fromClient);
    socket.on('error', () => socket.destroy());
    socket.on('data', (c: Buffer) => {
      this.lastAt = listener.clock;
      if (!us.write(c)) socket.pause();
    });
    socket.on('drain', () => {
      if (us.isPaused()) us.resume();
    });
    // WebSocket has no use for half-closed connections: when one side ends, finish the other
    socket.on('end', () => us.end(() => this.up.destroy()));
    socket.on('close', () => {
      this.up.destroy();
      this.release();
    });
    us.on('close', this.onClose);
    if (clientEnded) us.end(() => this.up.destroy());
    if (up.dead) this.onUpClose();
    else if (socket.isPaused()) socket.resume();
  }

  onUpConnect(): void {}

  onUpData(chunk: Buffer): void {
    this.lastAt = this.listener.clock;
    const s = this.socket;
    if (!s.write(chunk)) this.up.socket.pause();
    // the write may still refer to the connection's read buffer
    if (s.writableLength > 0) this.up.held = true;
  }

  onUpDrain(): void {
    if (this.socket.isPaused()) this.socket.resume();
  }

  onUpEnd(): void {
    this.socket.end(() => this.socket.destroy());
  }

  onUpClose(): void {
    this.socket.destroy();
    this.release();
  }

  onUpHeadTimeout(): void {}

  /** Closes both sides (idle, or the listener shutting down). */
  destroy(): void {
    this.socket.destroy();
    this.up.destroy();
    this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.listener.tunnels.delete(this);
    this.listener.forget(this.ip);
    this.target.release();
  }
}
