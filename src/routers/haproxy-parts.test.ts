import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RouterError } from '../errors.js';
import { answerError, socatArgv } from './haproxy-api.js';
import { addServer, batches, delServer, setAddr, setState, setWeight, showServersState, showStat, shutdownSessions } from './haproxy-commands.js';
import { parseConfig, renderConfig } from './haproxy-config.js';
import { planConverge } from './haproxy-plan.js';
import { desiredServers, type HaproxyState } from './haproxy-state.js';
import { parseServersState, parseStat, poolTraffic, serverRows, targetHealth, targetState } from './haproxy-stat.js';

const t = (id: string, port: number) => ({ id, host: '127.0.0.1', port });
const canary: HaproxyState = {
  pools: [
    { name: 'stable', targets: [t('stable-0', 3000), t('stable-1', 3001)] },
    { name: 'canary', targets: [t('canary-0', 3100)] },
  ],
  weights: { stable: 95, canary: 5 },
  out: {},
};

describe('runtime API commands', () => {
  it('builds the exact lines', () => {
    expect(addServer('shop', 'blue-0', '127.0.0.1', 3000, 0)).toBe('add server shop/blue-0 127.0.0.1:3000 weight 0');
    expect(addServer('shop', 'blue-0', '::1', 3000, 5)).toBe('add server shop/blue-0 [::1]:3000 weight 5');
    expect(delServer('shop', 'blue-0')).toBe('del server shop/blue-0');
    expect(setWeight('shop', 'blue-0', 256)).toBe('set server shop/blue-0 weight 256');
    expect(setState('shop', 'blue-0', 'drain')).toBe('set server shop/blue-0 state drain');
    expect(setAddr('shop', 'blue-0', '127.0.0.1', 3005)).toBe('set server shop/blue-0 addr 127.0.0.1 port 3005');
    expect(shutdownSessions('shop', 'blue-0')).toBe('shutdown sessions server shop/blue-0');
    expect(showServersState('shop')).toBe('show servers state shop');
    expect(showStat('shop')).toBe('show stat shop 4 -1');
    expect(socatArgv('/run/haproxy/admin.sock')).toEqual(['socat', '-t', '5', 'stdio', 'unix-connect:/run/haproxy/admin.sock']);
  });
  it('refuses names that would break the line, and weights HAProxy refuses', () => {
    expect(() => setWeight('shop', 'x; del server shop/a', 1)).toThrow(/^router\.haproxy\.backend: server "x; del server shop\/a"/);
    expect(() => showStat('my shop')).toThrow(RouterError);
    expect(() => setWeight('shop', 'a', 257)).toThrow(/between 0 and 256/);
    expect(() => addServer('shop', 'a', '1.2.3.4 weight 9', 1, 1)).toThrow(RouterError);
  });
  it('joins commands for one connection, splitting only past the line limit', () => {
    expect(batches(['a', 'b', 'c'])).toEqual(['a; b; c']);
    expect(batches(['aaaa', 'bbbb', 'cccc'], 10)).toEqual(['aaaa; bbbb', 'cccc']);
    expect(batches([])).toEqual([]);
  });
});

describe('config_file', () => {
  it('renders the backend with weights, drained servers at 0 and down ones disabled', () => {
    const s: HaproxyState = { ...canary, out: { 'stable-1': 'draining', 'canary-0': 'down' } };
    expect(renderConfig('shop', 'shop', s)).toBe(
      [
        '# Written by Deployer for the app shop (router.haproxy.config_file). Do not edit: Deployer changes',
        '# this backend through the runtime API and mirrors every change here, so a reload keeps it.',
        '# deployer-state: {"pools":[{"name":"stable","targets":[{"id":"stable-0","host":"127.0.0.1","port":3000},{"id":"stable-1","host":"127.0.0.1","port":3001}]},{"name":"canary","targets":[{"id":"canary-0","host":"127.0.0.1","port":3100}]}],"weights":{"stable":95,"canary":5},"out":{"stable-1":"draining","canary-0":"down"}}',
        'backend shop',
        '    balance roundrobin',
        '    server stable-0 127.0.0.1:3000 weight 1',
        '    server stable-1 127.0.0.1:3001 weight 0',
        '    server canary-0 127.0.0.1:3100 weight 0 disabled',
        '',
      ].join('\n'),
    );
  });
  it('gives 5% to one canary beside two stable servers as 2 and 19, 19', () => {
    expect(desiredServers(canary).map((d) => `${d.id}=${d.weight}/${d.admin}`)).toEqual(['stable-0=19/ready', 'stable-1=19/ready', 'canary-0=2/ready']);
  });
  it('reads back what it wrote; no file or a stub without the state line is empty', () => {
    expect(parseConfig(renderConfig('shop', 'shop', canary))).toEqual(canary);
    expect(parseConfig(null)).toEqual({ pools: [], weights: {}, out: {} });
    expect(parseConfig('backend shop\n')).toEqual({ pools: [], weights: {}, out: {} });
  });
  it('a hand-broken state line is an error naming router.haproxy.config_file', () => {
    for (const line of ['{"pools": [', '{"pools": [{"name": "a"}], "weights": {}, "out": {}}', '{"pools": [], "weights": {"a": 101}, "out": {}}', '{"pools": [], "weights": {}, "out": {"a": "gone"}}']) {
      expect(() => parseConfig(`# deployer-state: ${line}\nbackend shop\n`)).toThrow(/^router\.haproxy\.config_file: the "# deployer-state:" line/);
    }
  });
});

describe('show stat and show servers state', () => {
  const rows = serverRows(parseStat(readFileSync(new URL('../../test/fixtures/haproxy-show-stat-2.6.csv', import.meta.url), 'utf8')), 'shop');
  it('parses a captured HAProxy 2.6 answer by header name', () => {
    expect([...rows.keys()]).toEqual(['stable-0', 'canary-0', 'stable-1']);
    expect(['status', 'weight', 'hrsp_2xx', 'hrsp_5xx', 'addr'].map((k) => rows.get('stable-0')![k])).toEqual(['DRAIN', '19', '38', '0', '127.0.0.1:18101']);
    expect(targetState(rows.get('stable-0')!.status)).toBe('draining');
    expect(targetState(rows.get('canary-0')!.status)).toBe('ready');
    expect(targetState(rows.get('stable-1')!.status)).toBe('down');
    expect(targetHealth(rows.get('canary-0')!.check_status)).toBeNull();
    expect([targetHealth('L7OK'), targetHealth('* L4CON'), targetHealth('INI')]).toEqual(['healthy', 'unhealthy', 'unknown']);
  });
  it('sums servers into cumulative per-pool counters, with no latency', () => {
    const pools = [
      { name: 'stable', targets: [t('stable-0', 1), t('stable-1', 2)] },
      { name: 'canary', targets: [t('canary-0', 3)] },
    ];
    const tr = poolTraffic(pools, rows);
    expect(tr.stable!.requests).toEqual({ '1xx': 0, '2xx': 38, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0 });
    expect(tr.canary!.requests['5xx']).toBe(2);
    expect(tr.canary!.latency).toEqual({ boundsMs: [], counts: [0], sumMs: 0, count: 0 });
  });
  it('reads show servers state, and knows "Can\'t find backend."', () => {
    const text =
      '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n3 shop 1 blue-0 127.0.0.1 2 8 20 10 1 1 0 2 0 0 0 0 - 18101 - 0 0 - - 0\n3 shop 2 blue-1 ::1 0 5 4 0 7 1 0 0 8 0 0 0 - 18102 - 0 0 - - 0\n\n';
    expect(parseServersState(text)).toEqual([
      { name: 'blue-0', addr: '127.0.0.1', port: 18101, admin: 8, op: 2, uweight: 20 },
      { name: 'blue-1', addr: '::1', port: 18102, admin: 5, op: 0, uweight: 4 },
    ]);
    expect(parseServersState("Can't find backend.\n\n")).toBeNull();
  });
});

describe('converge plan', () => {
  const live = (name: string, uweight: number, admin = 0, port = 3000) => ({ name, addr: '127.0.0.1', port, admin, op: 2, uweight });
  it('raises the new pool before it lowers the old one', () => {
    const s: HaproxyState = { pools: [{ name: 'blue', targets: [t('blue-0', 3000)] }, { name: 'green', targets: [t('green-0', 3100)] }], weights: { green: 100 }, out: {} };
    const p = planConverge('shop', desiredServers(s), [live('blue-0', 1), live('green-0', 0, 0, 3100)]);
    expect(p).toEqual({ adds: [], addrs: [], batch: ['set server shop/green-0 weight 1', 'set server shop/blue-0 weight 0'], removals: [] });
  });
  it('adds missing servers, moves a changed port, drains, and removes what is not declared', () => {
    const s: HaproxyState = { ...canary, out: { 'stable-1': 'draining', 'canary-0': 'down' } };
    const p = planConverge('shop', desiredServers(s), [live('stable-0', 19, 0, 2999), live('stable-1', 19, 0, 3001), live('old-0', 1)]);
    expect(p).toEqual({
      adds: ['add server shop/canary-0 127.0.0.1:3100 weight 0'],
      addrs: ['set server shop/stable-0 addr 127.0.0.1 port 3000'],
      batch: ['set server shop/stable-0 weight 1', 'set server shop/stable-1 state drain', 'set server shop/stable-1 weight 0', 'set server shop/old-0 state maint'],
      removals: ['old-0'],
    });
  });
  it('brings a server out of maintenance with its weight set first, and sends nothing when all agree', () => {
    const s: HaproxyState = { pools: [{ name: 'blue', targets: [t('blue-0', 3000)] }], weights: { blue: 100 }, out: {} };
    expect(planConverge('shop', desiredServers(s), [live('blue-0', 0, 0x04)]).batch).toEqual(['set server shop/blue-0 weight 1', 'set server shop/blue-0 state ready']);
    expect(planConverge('shop', desiredServers(s), [live('blue-0', 1)]).batch).toEqual([]);
  });
});

describe('runtime API answers', () => {
  it('nothing is success; a refused level names admin_socket; anything else names backend', () => {
    expect(answerError('\n\n', '/s')).toBeNull();
    expect(answerError('Permission denied\n', '/s')?.message).toMatch(/^router\.haproxy\.admin_socket: /);
    expect(answerError("Unknown command, but maybe one of the following ones is a better match:\n  help\n", '/s')?.hint).toContain('stats socket /s level admin');
    expect(answerError('No such server.\n\n', '/s')?.message).toBe('router.haproxy.backend: HAProxy refused a change: No such server.');
  });
});
