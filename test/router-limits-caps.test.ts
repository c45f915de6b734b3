// The router's caps on what clients hold (router.max_connections, max_connections_per_client,
// max_head_memory), against the built router process. Clients come from several loopback
// addresses (127.0.0.x) to tell the per-client cap from the total.
import { createServer } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../src/runtime/router/limits.js';
import { freePort, waitFor } from './support/net.js';
import { rawConn, type RawConn } from './support/raw-http.js';
import { appSpec, useRouterProcess } from './support/router-process.js';

const env = useRouterProcess();
const { servers, sockets } = env;

async function routerFor(limits: Partial<typeof DEFAULT_LIMITS>): Promise<number> {
  // heads up to the router's 64 KiB (node's default is 16 KiB)
  const s = createServer({ maxHeaderSize: 128 * 1024 }, (_req, res) => res.end('ok'));
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  await env.rp.start();
  const port = await freePort();
  const target = (s.address() as { port: number }).port;
  expect(await env.rp.ctl('PUT', '/apps/shop', appSpec(port, target, { limits: { ...DEFAULT_LIMITS, ...limits } }))).toMatchObject({ status: 200 });
  return port;
}

const open = (port: number, from = '127.0.0.1'): Promise<RawConn> => rawConn(port, (x) => sockets.push(x), from);

/**
 * Whether the router serves a GET on it (admitted), or closes it without an answer (refused at
 * accept). `rest`: the end of a head already begun on it.
 */
async function served(c: RawConn, rest = 'GET / HTTP/1.1\r\nHost: h\r\n\r\n'): Promise<boolean> {
  const before = c.text().length;
  c.sock.write(rest);
  return waitFor(() => (c.text().length > before && c.text().endsWith('ok') ? true : c.closed() ? false : undefined), 'an answer or a close');
}

const refused = async (): Promise<{ total: number; perClient: number }> => {
  const prom = (await env.rp.ctl('GET', '/metrics?format=prometheus')).text;
  const n = (cap: string): number => Number(new RegExp(`^deployer_router_connections_refused_total\\{[^}]*cap="${cap}"\\} (\\d+)$`, 'm').exec(prom)?.[1] ?? -1);
  return { total: n('max_connections'), perClient: n('max_connections_per_client') };
};

describe('router limits: caps', () => {
  it('closes connections over the per-client and the total cap at accept, counts them, and admits again once one closes', async () => {
    const port = await routerFor({ maxConnections: 4, maxConnectionsPerClient: 2 });
    const a1 = await open(port, '127.0.0.1');
    const a2 = await open(port, '127.0.0.1');
    expect([await served(a1), await served(a2)]).toEqual([true, true]);
    // a third from the same address: over the per-client cap
    expect(await served(await open(port, '127.0.0.1'))).toBe(false);
    const b1 = await open(port, '127.0.0.2');
    const b2 = await open(port, '127.0.0.2');
    expect([await served(b1), await served(b2)]).toEqual([true, true]);
    // a fifth connection from a new address: over the total
    expect(await served(await open(port, '127.0.0.3'))).toBe(false);
    expect(await refused()).toEqual({ total: 1, perClient: 1 });
    // one closes: its address and the total have room again
    a1.sock.destroy();
    await waitFor(async () => ((await served(await open(port, '127.0.0.1'))) ? true : undefined), 'a new connection to be admitted');
  });

  it('answers 431 to a head that would take unfinished heads past max_head_memory, and serves complete heads', async () => {
    const port = await routerFor({ maxHeadMemory: 1024 * 1024 });
    const pad = (n: number): string => `X-Pad: ${'p'.repeat(n)}\r\n`;
    // each connection holds an unfinished head of 40 KB (in two pieces): about 25 of them fit in 1 MiB
    const conns: RawConn[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await open(port);
      conns.push(c);
      c.sock.write(`GET / HTTP/1.1\r\nHost: h\r\n${pad(20_000)}`);
      await new Promise((r) => setImmediate(r));
      c.sock.write(pad(20_000));
    }
    await waitFor(() => (conns.some((c) => c.closed()) ? true : undefined), 'some heads to be refused', 5_000);
    const refusedHeads = conns.filter((c) => c.closed());
    for (const c of refusedHeads) expect(c.text()).toMatch(/^HTTP\/1\.1 431 /);
    // the first few fit whatever the pieces' arrival: they finish their heads and are served
    for (const c of conns.slice(0, 5)) {
      expect(c.closed()).toBe(false);
      expect(await served(c, '\r\n')).toBe(true);
    }
    // the others let go: a new unfinished head fits again
    for (const c of conns) c.sock.destroy();
    await waitFor(async () => {
      const c = await open(port);
      c.sock.write(`GET / HTTP/1.1\r\nHost: h\r\n${pad(30_000)}`);
      await new Promise((r) => setTimeout(r, 50));
      c.sock.write(pad(30_000));
      return (await served(c, '\r\n')) ? true : undefined;
    }, 'a head to fit again');
  });
});
