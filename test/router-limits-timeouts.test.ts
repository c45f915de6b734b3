// The router's timeouts on slow and idle clients (router.send_timeout, body_timeout,
// tunnel_idle_timeout), against the built router process: each is set to 1 s here, and the test
// polls (with a deadline) for the router to let go.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { RouterLimits } from '../src/runtime/model.js';
import { DEFAULT_LIMITS } from '../src/runtime/router/limits.js';
import { freePort, waitFor } from './support/net.js';
import { rawConn, type RawConn } from './support/raw-http.js';
import { appSpec, useRouterProcess } from './support/router-process.js';

const env = useRouterProcess();
const { servers, sockets } = env;

const SHORT: Partial<RouterLimits> = { sendTimeoutMs: 1000, bodyTimeoutMs: 1000, tunnelIdleTimeoutMs: 1000 };

/** What the backend saw: requests whose connection closed before they finished, open upgraded sockets. */
interface Seen {
  arrived: number;
  aborted: number;
  upgradedOpen: number;
}

/** /big streams 256 MiB (with backpressure); /upload reads its body; an Upgrade gets a 101 and an echo. */
async function backend(): Promise<{ port: number; seen: Seen }> {
  const seen: Seen = { arrived: 0, aborted: 0, upgradedOpen: 0 };
  const s = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.arrived++;
    res.on('close', () => {
      if (!res.writableFinished) seen.aborted++;
    });
    if (req.url === '/big') {
      const chunk = Buffer.alloc(64 * 1024, 'x');
      let left = 4096;
      const pump = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      return pump();
    }
    req.resume();
    req.on('end', () => res.end('stored'));
  });
  s.on('upgrade', (_req: IncomingMessage, socket: Socket) => {
    seen.upgradedOpen++;
    socket.on('close', () => seen.upgradedOpen--);
    socket.on('error', () => undefined);
    socket.on('end', () => socket.destroy());
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n');
    socket.on('data', (d: Buffer) => socket.write(d));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return { port: (s.address() as { port: number }).port, seen };
}

/** A router process serving one app on the backend, with these limits. */
async function routerFor(target: number, limits: Partial<RouterLimits>): Promise<number> {
  await env.rp.start();
  const port = await freePort();
  expect(await env.rp.ctl('PUT', '/apps/shop', appSpec(port, target, { limits: { ...DEFAULT_LIMITS, ...limits } }))).toMatchObject({ status: 200 });
  return port;
}

const client = (port: number): Promise<RawConn> => rawConn(port, (x) => sockets.push(x));

/** The target's in-flight count and the router's open client connections, from the router itself. */
async function routerHolds(): Promise<{ inFlight: number; conns: number }> {
  const state = (await env.rp.ctl('GET', '/state')).body as { apps: { pools: { targets: { inFlight: number }[] }[] }[] };
  const prom = (await env.rp.ctl('GET', '/metrics?format=prometheus')).text;
  return { inFlight: state.apps[0]!.pools[0]!.targets[0]!.inFlight, conns: Number(/^deployer_router_connections\{[^}]*\} (\d+)$/m.exec(prom)?.[1] ?? -1) };
}

describe('router limits: timeouts', () => {
  it('closes a client that never reads its large response and frees the upstream connection (send_timeout)', async () => {
    const b = await backend();
    const port = await routerFor(b.port, SHORT);
    const c = await client(port);
    c.sock.pause(); // never reads
    c.sock.write('GET /big HTTP/1.1\r\nHost: h\r\n\r\n');
    await waitFor(() => (b.seen.arrived === 1 ? true : undefined), 'the request to reach the backend');
    // the router lets go: the backend's response is cut, and nothing is held for the client
    await waitFor(() => (b.seen.aborted === 1 ? true : undefined), 'the upstream connection to be closed', 10_000);
    await waitFor(async () => ((await routerHolds()).conns === 0 ? true : undefined), 'the client connection to be closed', 5_000);
    expect(await routerHolds()).toEqual({ inFlight: 0, conns: 0 });
  });

  it('answers 408 to a request body that stops coming, and frees the upstream connection (body_timeout)', async () => {
    const b = await backend();
    const port = await routerFor(b.port, SHORT);
    const c = await client(port);
    c.sock.write('POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 1000\r\n\r\nonly-this');
    await waitFor(() => (c.closed() ? true : undefined), 'the router to close the connection', 10_000);
    expect(c.text()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(c.text()).toMatch(/\r\nconnection: close\r\n/);
    await waitFor(() => (b.seen.aborted === 1 ? true : undefined), 'the upstream request to be cut');
    expect(await routerHolds()).toEqual({ inFlight: 0, conns: 0 });
  });

  it('keeps a tunnel that carries bytes, and closes both sides of one idle past tunnel_idle_timeout', async () => {
    const b = await backend();
    const port = await routerFor(b.port, SHORT);
    const c = await client(port);
    c.sock.write('GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n');
    await waitFor(() => (c.text().includes('\r\n\r\n') ? true : undefined), 'the 101');
    expect(c.text()).toMatch(/^HTTP\/1\.1 101 /);
    // a ping every 300 ms for about twice the timeout: each one echoed, the tunnel stays open
    for (let i = 0; i < 7; i++) {
      const want = `ping${i};`;
      c.sock.write(want);
      await waitFor(() => (c.text().endsWith(want) ? true : undefined), `echo ${i}`);
      await new Promise((r) => setTimeout(r, 300)); // the spacing is the scenario
    }
    expect({ closed: c.closed(), backend: b.seen.upgradedOpen }).toEqual({ closed: false, backend: 1 });
    // then silence: both sides close
    await waitFor(() => (c.closed() && b.seen.upgradedOpen === 0 ? true : undefined), 'the idle tunnel to be closed', 10_000);
    expect(await routerHolds()).toEqual({ inFlight: 0, conns: 0 });
  });
});
