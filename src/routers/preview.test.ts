// The previews --dry-run prints, pure over (state read, actions): exact lines for each router, for
// a blue-green switch, a rolling instance and the refusals.
import { describe, expect, it } from 'vitest';
import { EmbeddedRouter, previewEmbedded } from './embedded.js';
import { previewHaproxy, asLive } from './haproxy-preview.js';
import { desiredServers, emptyState, type HaproxyState } from './haproxy-state.js';
import { emptyNginxState, type NginxState } from './nginx-config.js';
import { previewNginx } from './nginx-preview.js';
import { foldPreviews, poolsAfter } from './preview.js';
import type { RouterAction } from './types.js';

const NGINX = { config_file: '/etc/nginx/deployer/shop.conf', upstream: 'shop', test_command: 'nginx -t', reload_command: 'nginx -s reload' };
const HAPROXY = { backend: 'shop', config_file: '/etc/haproxy/deployer/shop.cfg' };
const blue0 = { id: 'blue-0', host: '127.0.0.1', port: 3000 };
const green0 = { id: 'green-0', host: '127.0.0.1', port: 3100 };
/** blue-green: green starts, takes all traffic, blue stops */
const switchToGreen: RouterAction[] = [
  { kind: 'add_targets', pool: 'green', targets: [green0] },
  { kind: 'weights', weights: { blue: 0, green: 100 } },
  { kind: 'remove_targets', ids: ['blue-0'] },
];
const lines = (p: { lines: string[] }[]) => p.map((x) => x.lines);

describe('poolsAfter', () => {
  const pools = [{ name: 'blue', targets: [blue0, { id: 'blue-1', host: '127.0.0.1', port: 3001 }] }];
  it('adds targets to their pool, replacing the same ids in place', () => {
    expect(poolsAfter(pools, { kind: 'add_targets', pool: 'blue', targets: [{ ...blue0, port: 3005 }, { id: 'blue-2', host: '127.0.0.1', port: 3002 }] })).toEqual([
      { name: 'blue', targets: [{ ...blue0, port: 3005 }, pools[0]!.targets[1], { id: 'blue-2', host: '127.0.0.1', port: 3002 }] },
    ]);
  });
  it('removes targets from the pools that hold them, and names no other pool', () => {
    expect(poolsAfter([...pools, { name: 'green', targets: [green0] }], { kind: 'remove_targets', ids: ['blue-0'] })).toEqual([{ name: 'blue', targets: [pools[0]!.targets[1]] }]);
  });
});

describe('nginx preview', () => {
  const live: NginxState = { pools: [{ name: 'blue', targets: [blue0] }], weights: { blue: 100 }, down: [], routes: [] };
  it('a blue-green switch: the servers written, the test and the reload at each step', () => {
    expect(lines(foldPreviews(live, switchToGreen, (s, a) => previewNginx(NGINX, s, a)))).toEqual([
      [
        'write /etc/nginx/deployer/shop.conf: upstream shop (blue 100%, green 0%): server 127.0.0.1:3000 weight=1 (blue-0), server 127.0.0.1:3100 down (green-0)',
        'test: nginx -t',
        'reload: nginx -s reload',
      ],
      [
        'write /etc/nginx/deployer/shop.conf: upstream shop (blue 0%, green 100%): server 127.0.0.1:3000 down (blue-0), server 127.0.0.1:3100 weight=1 (green-0)',
        'test: nginx -t',
        'reload: nginx -s reload',
      ],
      ['write /etc/nginx/deployer/shop.conf: upstream shop (green 100%): server 127.0.0.1:3100 weight=1 (green-0)', 'test: nginx -t', 'reload: nginx -s reload'],
    ]);
  });
  it('drain, enable and routes; an empty file; a refused change fails alone and leaves the state', () => {
    const acts: RouterAction[] = [
      { kind: 'weights', weights: { green: 100 } },
      { kind: 'drain', id: 'blue-0' },
      { kind: 'enable', id: 'blue-0' },
      { kind: 'routes', routes: [{ header: 'x-canary', value: '1', pool: 'blue' }] },
    ];
    expect(lines(foldPreviews(live, acts, (s, a) => previewNginx(NGINX, s, a))).map((l) => l[0])).toEqual([
      'would fail: router.nginx: pool green has no targets in /etc/nginx/deployer/shop.conf: declare it before giving it traffic',
      'write /etc/nginx/deployer/shop.conf: upstream shop (blue 100%): server 127.0.0.1:3000 down (blue-0)',
      'write /etc/nginx/deployer/shop.conf: upstream shop (blue 100%): server 127.0.0.1:3000 weight=1 (blue-0)',
      'write /etc/nginx/deployer/shop.conf: upstream shop (blue 100%): server 127.0.0.1:3000 weight=1 (blue-0); routes: header x-canary = "1" -> blue',
    ]);
    expect(previewNginx(NGINX, emptyNginxState(), { kind: 'routes', routes: [] }).lines[0]).toBe('write /etc/nginx/deployer/shop.conf: upstream shop: no server (nginx answers 502)');
  });
});

describe('HAProxy preview', () => {
  const state: HaproxyState = { pools: [{ name: 'blue', targets: [blue0] }], weights: { blue: 100 }, out: {} };
  it('a blue-green switch: the file written first, then the runtime API commands', () => {
    const start = { state, live: asLive(desiredServers(state)) };
    expect(lines(foldPreviews(start, switchToGreen, (p, a) => previewHaproxy(HAPROXY, p, a)))).toEqual([
      ['write /etc/haproxy/deployer/shop.cfg: backend shop: server blue-0 127.0.0.1:3000 weight 1, server green-0 127.0.0.1:3100 weight 0', 'runtime API: add server shop/green-0 127.0.0.1:3100 weight 0', 'runtime API: set server shop/green-0 state ready'],
      ['write /etc/haproxy/deployer/shop.cfg: backend shop: server blue-0 127.0.0.1:3000 weight 0, server green-0 127.0.0.1:3100 weight 1', 'runtime API: set server shop/green-0 weight 1; set server shop/blue-0 weight 0'],
      ['write /etc/haproxy/deployer/shop.cfg: backend shop: server green-0 127.0.0.1:3100 weight 1', 'runtime API: set server shop/blue-0 state maint', 'runtime API: del server shop/blue-0'],
    ]);
  });
  it('from the servers HAProxy has: a drain, an enable; routes are refused, none is nothing to do', () => {
    const start = { state, live: [{ name: 'blue-0', addr: '127.0.0.1', port: 3000, admin: 0, op: 2, uweight: 5 }] };
    const acts: RouterAction[] = [
      { kind: 'drain', id: 'blue-0' },
      { kind: 'enable', id: 'blue-0' },
      { kind: 'routes', routes: [] },
      { kind: 'routes', routes: [{ header: 'x-canary', pool: 'blue' }] },
      { kind: 'drain', id: 'red-0' },
    ];
    expect(lines(foldPreviews(start, acts, (p, a) => previewHaproxy(HAPROXY, p, a)))).toEqual([
      ['write /etc/haproxy/deployer/shop.cfg: backend shop: server blue-0 127.0.0.1:3000 weight 0', 'runtime API: set server shop/blue-0 state drain; set server shop/blue-0 weight 0'],
      ['write /etc/haproxy/deployer/shop.cfg: backend shop: server blue-0 127.0.0.1:3000 weight 1', 'runtime API: set server shop/blue-0 weight 1; set server shop/blue-0 state ready'],
      [],
      ['would fail: router.type: HAProxy routes (by header or cookie) are not supported: Deployer only sets server weights in its backend'],
      ['would fail: router.haproxy.backend: no target red-0 in backend shop'],
    ]);
    expect(previewHaproxy(HAPROXY, { state: emptyState(), live: [] }, { kind: 'remove_targets', ids: ['x'] }).lines).toEqual(['write /etc/haproxy/deployer/shop.cfg: backend shop: no server']);
  });
});

describe('embedded preview', () => {
  it('the weights set on the daemon (pools with traffic left out get 0), holds and routes; no file', () => {
    const acts: RouterAction[] = [...switchToGreen.slice(0, 1), { kind: 'weights', weights: { green: 100 } }, { kind: 'drain', id: 'green-0' }, { kind: 'enable', id: 'green-0' }, { kind: 'routes', routes: [] }];
    expect(lines(foldPreviews({ blue: 100 }, acts, previewEmbedded))).toEqual([
      [],
      ['runtime daemon: set weights blue 0%, green 100%'],
      ['runtime daemon: hold green-0 (out of rotation, in-flight requests finish)'],
      ['runtime daemon: release green-0 into rotation'],
      ['runtime daemon: remove the header/cookie routes'],
    ]);
  });
  it('with no daemon running (a dry run starts none), from no weights', async () => {
    const r = new EmbeddedRouter(() => {
      throw new Error('router.type embedded: the runtime daemon is not connected');
    }, 'shop');
    expect(await r.preview([{ kind: 'weights', weights: { blue: 100 } }])).toEqual([{ lines: ['runtime daemon: set weights blue 100%'] }]);
  });
});
