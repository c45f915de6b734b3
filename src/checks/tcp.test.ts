import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatHostPort, probeTcp } from './tcp.js';
import { closedPort, until } from './test-support.js';

let server: net.Server;
let port: number;
let open = 0;
let accepted = 0;

beforeAll(async () => {
  server = net.createServer((socket) => {
    accepted++;
    open++;
    socket.on('close', () => open--);
    socket.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('probeTcp', () => {
  it('passes when the port accepts, and closes the connection', async () => {
    const before = accepted;
    const r = await probeTcp({ type: 'tcp', host: '127.0.0.1', port }, 2000);
    expect(r).toMatchObject({ ok: true, detail: `connected to 127.0.0.1:${port}` });
    expect(await until(() => accepted === before + 1 && open === 0)).toBe(true);
  });

  it('reports connection refused on a closed port', async () => {
    const closed = await closedPort();
    expect(await probeTcp({ type: 'tcp', host: '127.0.0.1', port: closed }, 2000)).toMatchObject({
      ok: false,
      detail: 'connection refused',
    });
  });

  it('does not connect when the signal has already aborted', async () => {
    const before = accepted;
    const r = await probeTcp({ type: 'tcp', host: '127.0.0.1', port }, 2000, AbortSignal.abort());
    expect(r).toMatchObject({ ok: false, detail: 'aborted' });
    expect(accepted).toBe(before);
  });

  it('formats IPv6 hosts in brackets', () => {
    expect(formatHostPort('::1', 80)).toBe('[::1]:80');
    expect(formatHostPort('db.local', 5432)).toBe('db.local:5432');
  });
});
