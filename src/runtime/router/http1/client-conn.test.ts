import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../limits.js';
import type { Listener } from '../server.js';
import { ClientConn } from './client-conn.js';

/** Enough of a socket and a listener for the sweep bookkeeping (the clock is set by hand). */
function fixture(): { conn: ClientConn; socket: EventEmitter & { destroyed: boolean; writableLength: number; bytesWritten: number }; listener: { clock: number } } {
  const socket = Object.assign(new EventEmitter(), { destroyed: false, writableLength: 0, bytesWritten: 0, writableFinished: false, destroy: () => (socket.destroyed = true), end: () => undefined, write: () => true });
  const listener = { clock: 0, limits: { ...DEFAULT_LIMITS, sendTimeoutMs: 1000 }, headMemory: 0, conns: new Set(), forget: () => undefined, isClosing: () => false, resolve: () => null };
  const conn = new ClientConn(socket as unknown as Socket, listener as unknown as Listener, '127.0.0.1');
  return { conn, socket, listener };
}

describe('ClientConn sweep bookkeeping', () => {
  it('closes a connection that stays silent without a request for 60 s', () => {
    const { conn, socket } = fixture();
    conn.sweep(59_999);
    expect(socket.destroyed).toBe(false);
    conn.sweep(60_000);
    expect(socket.destroyed).toBe(true);
  });

  it('closes a head that trickles in for 60 s, even while bytes keep coming', () => {
    const { conn, socket, listener } = fixture();
    socket.emit('data', Buffer.from('GET / HTTP/1.1\r\nHo'));
    for (let t = 5_000; t <= 60_000; t += 5_000) {
      listener.clock = t;
      socket.emit('data', Buffer.from('o'));
      conn.sweep(t);
      expect(socket.destroyed).toBe(t >= 60_000);
    }
  });

  it('closes a client whose queued bytes do not shrink for the send timeout, not one that reads slowly', () => {
    const { conn, socket } = fixture();
    socket.writableLength = 50_000;
    socket.bytesWritten = 50_000;
    for (let t = 0; t <= 3_000; t += 500) {
      socket.writableLength -= 1;
      conn.sweep(t);
    }
    expect(socket.destroyed).toBe(false);
    conn.sweep(3_500);
    conn.sweep(3_999);
    expect(socket.destroyed).toBe(false);
    conn.sweep(4_500);
    expect(socket.destroyed).toBe(true);
  });

  it('keeps a slow reader whose queue the target refills between sweeps (its writes complete)', () => {
    const { conn, socket } = fixture();
    for (let t = 0; t <= 10_000; t += 500) {
      // 16 KiB taken by the client, 16 KiB more queued by the target: the queue never shrinks
      socket.bytesWritten += 16_384;
      socket.writableLength = 50_000;
      conn.sweep(t);
    }
    expect(socket.destroyed).toBe(false);
  });
});
