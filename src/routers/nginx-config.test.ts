import { describe, expect, it } from 'vitest';
import { RouterError } from '../errors.js';
import { emptyNginxState, parseNginxState, renderNginxConfig, type NginxState } from './nginx-config.js';

const t = (id: string, port: number) => ({ id, host: '127.0.0.1', port });
const state = (o: Partial<NginxState>): NginxState => ({ ...emptyNginxState(), ...o });
const canary = (weights: Record<string, number>, o: Partial<NginxState> = {}) =>
  state({ pools: [{ name: 'stable', targets: [t('stable-0', 3000)] }, { name: 'canary', targets: [t('canary-0', 3100)] }], weights, ...o });
/** The file without its header and state line, from the log_format on. */
const body = (s: NginxState) => renderNginxConfig(s, 'shop', 'shop').split('\n').slice(4).join('\n');
const LOG_FORMAT = `log_format deployer_shop escape=json '{"msec":"$msec","status":"$status","request_time":"$request_time","upstream_addr":"$upstream_addr","upstream_status":"$upstream_status","upstream_response_time":"$upstream_response_time","upstream_header_time":"$upstream_header_time"}';`;

describe('renderNginxConfig', () => {
  it('writes a 5% canary as weights 19:1, with one upstream per pool and the route variable', () => {
    const s = canary({ stable: 95, canary: 5 });
    expect(renderNginxConfig(s, 'shop', 'shop')).toBe(
      [
        '# Written by Deployer for app shop: it rewrites this file on every change, do not edit it.',
        '# nginx.conf includes it inside http {}; the server block proxies to http://$deployer_shop (routes and weights) or http://shop (weights only).',
        `# deployer-state: ${JSON.stringify({ v: 1, ...s })}`,
        '',
        LOG_FORMAT,
        '',
        '# weights: stable 95%, canary 5%',
        'upstream shop {',
        '    server 127.0.0.1:3000 weight=19;  # stable stable-0',
        '    server 127.0.0.1:3100 weight=1;  # canary canary-0',
        '    keepalive 32;',
        '}',
        '',
        'upstream shop__stable {',
        '    server 127.0.0.1:3000;  # stable-0',
        '    keepalive 32;',
        '}',
        '',
        'upstream shop__canary {',
        '    server 127.0.0.1:3100;  # canary-0',
        '    keepalive 32;',
        '}',
        '',
        'map "" $deployer_shop {',
        '    default shop;',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('switches blue/green: the pool at 0 has its servers down', () => {
    const s = state({ pools: [{ name: 'blue', targets: [t('blue-0', 3000), t('blue-1', 3001)] }, { name: 'green', targets: [t('green-0', 3100), t('green-1', 3101)] }], weights: { blue: 0, green: 100 } });
    expect(body(s).split('\n').slice(2, 9)).toEqual([
      '# weights: blue 0%, green 100%',
      'upstream shop {',
      '    server 127.0.0.1:3000 down;  # blue blue-0',
      '    server 127.0.0.1:3001 down;  # blue blue-1',
      '    server 127.0.0.1:3100 weight=1;  # green green-0',
      '    server 127.0.0.1:3101 weight=1;  # green green-1',
      '    keepalive 32;',
    ]);
  });

  it('marks a drained target down in both upstreams and gives its pool share to the others of the pool', () => {
    const s = state({ pools: [{ name: 'stable', targets: [t('stable-0', 3000), t('stable-1', 3001)] }], weights: { stable: 100 }, down: ['stable-1'] });
    expect(body(s)).toContain(['upstream shop {', '    server 127.0.0.1:3000 weight=1;  # stable stable-0', '    server 127.0.0.1:3001 down;  # stable stable-1'].join('\n'));
    expect(body(s)).toContain(['upstream shop__stable {', '    server 127.0.0.1:3000;  # stable-0', '    server 127.0.0.1:3001 down;  # stable-1'].join('\n'));
  });

  it('writes a valid upstream with no pool at all: a placeholder server that is down (502 at once)', () => {
    expect(body(emptyNginxState()).split('\n').slice(2, 7)).toEqual(['# weights: no pools', 'upstream shop {', '    server 127.0.0.1:1 down;  # no target: nginx answers 502 at once', '    keepalive 32;', '}']);
  });

  it('chains routes as maps, first match wins, with values matched literally and quoted', () => {
    const s = canary({ stable: 100 }, { routes: [{ header: 'X-Canary', pool: 'canary' }, { cookie: 'ab', value: 'b"\\$x;{', pool: 'canary' }, { header: 'x-v', value: '~1', pool: 'stable' }] });
    expect(body(s).split('\n').slice(-16)).toEqual([
      '# route header X-Canary (any value) -> canary',
      'map $http_x_canary $deployer_shop {',
      '    default shop__canary;',
      '    "" $deployer_shop_route1;',
      '}',
      '# route cookie ab = "b\\"\\\\$x;{" -> canary',
      'map $cookie_ab $deployer_shop_route1 {',
      '    default $deployer_shop_route2;',
      '    "\\\\b\\"\\\\$x;{" shop__canary;',
      '}',
      '# route header x-v = "~1" -> stable',
      'map $http_x_v $deployer_shop_route2 {',
      '    default shop;',
      '    "\\\\~1" shop__stable;',
      '}',
      '',
    ]);
  });

  it('leaves out a route to a pool with no target in rotation', () => {
    const s = canary({ stable: 100 }, { down: ['canary-0'], routes: [{ header: 'x-canary', pool: 'canary' }] });
    expect(body(s)).toContain('# route header x-canary (any value) -> canary ignored: pool canary has no target in rotation\nmap "" $deployer_shop {\n    default shop;\n}');
  });

  it('names the route variable with . and - as _', () => {
    expect(renderNginxConfig(emptyNginxState(), 'my-app.v2', 'my-app')).toContain('map "" $deployer_my_app_v2 {\n    default my-app.v2;\n}');
  });

  it('refuses names that are not plain nginx tokens', () => {
    const bad: Partial<NginxState>[] = [
      { routes: [{ header: 'x canary;', pool: 'canary' }] },
      { routes: [{ cookie: 'a-b', pool: 'canary' }] },
      { routes: [{ header: 'x', value: 'a\nb', pool: 'canary' }] },
      { routes: [{ header: 'x', cookie: 'y', pool: 'canary' }] },
      { pools: [{ name: 'c; }', targets: [] }] },
      { pools: [{ name: 'c', targets: [{ id: 'c-0', host: '1.2.3.4;evil', port: 1 }] }] },
    ];
    for (const o of bad) expect(() => renderNginxConfig(state(o), 'shop', 'shop'), JSON.stringify(o)).toThrow(RouterError);
  });
});

describe('parseNginxState', () => {
  it('reads back the state a rendered file carries', () => {
    const s = canary({ stable: 95, canary: 5 }, { down: ['stable-0'], routes: [{ cookie: 'ab', value: 'x"y', pool: 'canary' }] });
    expect(parseNginxState(renderNginxConfig(s, 'shop', 'shop'), '/etc/nginx/shop.conf')).toEqual(s);
  });

  it('refuses a file without a state line, or with one edited by hand, naming router.nginx.config_file', () => {
    const ok = renderNginxConfig(canary({ stable: 100 }), 'shop', 'shop');
    for (const text of ['upstream shop { server 127.0.0.1:3000; }\n', ok.replace('"weights":{', '"weights":{,'), ok.replace('"port":3000', '"port":"3000"'), ok.replace('"name":"stable"', '"name":"st able"')]) {
      expect(() => parseNginxState(text, '/etc/nginx/shop.conf')).toThrow(/^router\.nginx\.config_file: \/etc\/nginx\/shop\.conf /);
    }
  });
});
