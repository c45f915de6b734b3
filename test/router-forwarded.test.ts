// The forwarding headers the built router process sends a target: set from what the router saw,
// whatever the client claims, unless the client is a proxy in router.trusted_proxies
// (trustedProxies in the router's app spec), whose X-Forwarded-For is appended to and whose
// X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host and Forwarded are kept.
import { createServer, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RouterApp } from '../src/runtime/model.js';
import { freePort } from './support/net.js';
import { raw } from './support/raw-http.js';
import { RouterProcess } from './support/router-process.js';

let router: RouterProcess;
let target: Server;
let port: number;
let port6: number;

const app = (trustedProxies?: string[], host = '127.0.0.1'): RouterApp => ({
  name: host === '127.0.0.1' ? 'shop' : 'shop6',
  listen: { host, port: host === '127.0.0.1' ? port : port6 },
  hostnames: [],
  pools: [{ name: 'blue', weight: 1, targets: [{ id: 'blue-0', host: '127.0.0.1', port: (target.address() as { port: number }).port, initial: 'healthy' }] }],
  health: { path: null, intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 100, healthyThreshold: 1 },
  stickyCookie: null,
  drainTimeoutMs: 1000,
  unavailableWaitMs: 0,
  ...(trustedProxies === undefined ? {} : { trustedProxies }),
});

beforeAll(async () => {
  router = new RouterProcess();
  await router.start();
  // answers with the header lines it got, as [name, value] pairs in order
  target = createServer((req, res) => {
    const pairs: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) pairs.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
    res.end(JSON.stringify(pairs));
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  port = await freePort();
  port6 = await freePort();
});

afterAll(async () => {
  await router?.stop();
  target?.closeAllConnections();
  await new Promise((r) => target?.close(r));
});

const FORWARDING = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-real-ip', 'forwarded']);
const CLAIMS = 'X-Forwarded-For: 203.0.113.7\r\nx-forwarded-for: 198.51.100.1\r\nX-Real-IP: 203.0.113.7\r\nForwarded: for=203.0.113.7;proto=https\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.test\r\n';

/** The forwarding header lines the target got for a request with these extra header lines. */
async function forwarding(lines: string): Promise<[string, string][]> {
  const r = await raw(port, [`GET / HTTP/1.1\r\nHost: shop.test\r\n${lines}Connection: close\r\n\r\n`], { timeoutMs: 5000 });
  expect(r.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
  const pairs = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as [string, string][];
  return pairs.filter(([name]) => FORWARDING.has(name));
}

const OURS: [string, string][] = [
  ['x-forwarded-for', '127.0.0.1'],
  ['x-forwarded-proto', 'http'],
  ['x-forwarded-host', 'shop.test'],
  ['x-real-ip', '127.0.0.1'],
];

describe('router: forwarded headers', () => {
  it('sets X-Forwarded-For, -Proto, -Host and X-Real-IP from what it saw and drops Forwarded, by default', async () => {
    expect(await router.ctl('PUT', '/apps/shop', app())).toMatchObject({ status: 200 });
    expect(await forwarding(CLAIMS)).toEqual(OURS);
    expect(await forwarding('')).toEqual(OURS);
  });

  it('does the same for a client outside trusted_proxies', async () => {
    expect(await router.ctl('PUT', '/apps/shop', app(['10.0.0.0/8', '::1/128', '192.0.2.1']))).toMatchObject({ status: 200 });
    expect(await forwarding(CLAIMS)).toEqual(OURS);
  });

  it('appends to X-Forwarded-For and keeps the rest from a trusted proxy (IPv4 and IPv6 blocks mixed)', async () => {
    expect(await router.ctl('PUT', '/apps/shop', app(['fd00::/8', '127.0.0.0/8']))).toMatchObject({ status: 200 });
    expect(await forwarding(CLAIMS)).toEqual([
      ['forwarded', 'for=203.0.113.7;proto=https'],
      ['x-forwarded-for', '203.0.113.7, 198.51.100.1, 127.0.0.1'],
      ['x-forwarded-proto', 'https'],
      ['x-forwarded-host', 'evil.test'],
      ['x-real-ip', '203.0.113.7'],
    ]);
    // a trusted proxy that sent none of them: the router's own
    expect(await forwarding('')).toEqual(OURS);
    // and trust goes with the configuration
    expect(await router.ctl('PUT', '/apps/shop', app([]))).toMatchObject({ status: 200 });
    expect(await forwarding(CLAIMS)).toEqual(OURS);
  });

  it('matches IPv6 clients against IPv6 blocks', async () => {
    const seen = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = request({ host: '::1', port: port6, path: '/', agent: false, headers: { 'x-forwarded-for': '2001:db8::7', connection: 'close' } }, (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve(new Map(JSON.parse(text) as [string, string][]).get('x-forwarded-for') ?? ''));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await router.ctl('PUT', '/apps/shop6', app(['fd00::/8', '127.0.0.0/8'], '::1'))).toMatchObject({ status: 200 });
    expect(await seen()).toBe('::1');
    expect(await router.ctl('PUT', '/apps/shop6', app(['::1/128'], '::1'))).toMatchObject({ status: 200 });
    expect(await seen()).toBe('2001:db8::7, ::1');
  });

  it('refuses trustedProxies that are not addresses or CIDR blocks, naming the entry', async () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/', '10.0.0.0/8/8', 'fe80::1%eth0']) {
      expect(await router.ctl('PUT', '/apps/shop', app(['127.0.0.0/8', bad]))).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^trustedProxies\.1: /) } });
    }
  });
});
