import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { Listener } from '../server.js';
import { ClientConn } from './client-conn.js';

/** Enough of a socket and a listener for the sweep bookkeeping. */
function fixture(): { conn: ClientConn; socket: EventEmitter & { destroyed: boolean }; listener: { tick: number } } {
  const socket = Object.assign(new EventEmitter(), { destroyed: false, remoteAddress: '127.0.0.1', destroy: () => (socket.destroyed = true), end: () => undefined, write: () => true });
  const listener = { tick: 0, conns: new Set(), isClosing: () => false, resolve: () => null };
  const conn = new ClientConn(socket as unknown as Socket, listener as unknown as Listener);
  return { conn, socket, listener };
}

describe('ClientConn sweep bookkeeping', () => {
  it('expires a connection that stays silent without a request', () => {
    const { conn, listener } = fixture();
    listener.tick = 12;
    expect(conn.expired(12, 13, 13)).toBe(false);
    expect(conn.expired(13, 13, 13)).toBe(true);
  });

  it('expires a head that trickles in for too long, even while bytes keep coming', () => {
    const { conn, socket, listener } = fixture();
    socket.emit('data', Buffer.from('GET / HTTP/1.1\r\nHo'));
    for (let t = 1; t <= 13; t++) {
      listener.tick = t;
      socket.emit('data', Buffer.from('o'));
      expect(conn.expired(t, 13, 13)).toBe(t >= 13);
    }
  });
});
