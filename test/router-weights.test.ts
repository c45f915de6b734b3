// The router in-process (RouterCore) against real node:http backends on loopback: pool weights
// and the sticky cookie.
import { describe, expect, it } from 'vitest';
import { freePort } from './support/net.js';
import { backend, core, hit, load, spec, useRouterCleanup } from './support/router-harness.js';

useRouterCleanup();

describe('router: weights and stickiness', () => {
  it('sends everything by 100/0, splits roughly by weight, and switches atomically to 0/100', async () => {
    const blue = await backend('blue');
    const green = await backend('green');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 100, [blue]], ['green', 0, [green]]]));
    for (let i = 0; i < 20; i++) expect((await hit(port)).text).toBe('blue');
    c.setWeights('shop', { blue: 30, green: 70 });
    const n = { blue: 0, green: 0 };
    for (let i = 0; i < 300; i++) n[(await hit(port)).text as 'blue' | 'green']++;
    expect(n.green / 300).toBeGreaterThan(0.55);
    expect(n.green / 300).toBeLessThan(0.85);
    c.setWeights('shop', { blue: 0, green: 100 });
    for (let i = 0; i < 20; i++) expect((await hit(port)).text).toBe('green');
    expect(() => c.setWeights('shop', { purple: 1 })).toThrow(/no pool purple/);
  });

  it('drops nothing while weights flip back and forth under concurrent load', async () => {
    const blue = await backend('blue');
    const green = await backend('green');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 100, [blue]], ['green', 0, [green]]]));
    let flips = 0;
    const result = await load(port, 3, async () => {
      const end = Date.now() + 2500;
      while (Date.now() < end) {
        c.setWeights('shop', flips % 2 ? { blue: 100, green: 0 } : { blue: 0, green: 100 });
        flips++;
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    expect(flips).toBeGreaterThan(20);
    expect(result.errors).toBe(0);
    expect(result.timeouts).toBe(0);
    expect(result.non2xx).toBe(0);
    expect(result['2xx']).toBeGreaterThan(500);
    expect(blue.hits).toBeGreaterThan(100);
    expect(green.hits).toBeGreaterThan(100);
  });

  it('pins a client to its pool with the sticky cookie while weights are split', async () => {
    const blue = await backend('blue');
    const green = await backend('green');
    const port = await freePort();
    const c = core();
    await c.upsertApp(spec('shop', port, [['blue', 50, [blue]], ['green', 50, [green]]], { stickyCookie: 'dpl_pool' }));
    const first = await hit(port);
    const cookie = first.headers['set-cookie']?.[0] ?? '';
    expect(cookie).toBe(`dpl_pool=${first.text}; Path=/; HttpOnly; SameSite=Lax`);
    const pair = cookie.split(';')[0]!;
    for (let i = 0; i < 30; i++) {
      const r = await hit(port, '/', { headers: { cookie: `other=1; ${pair}` } });
      expect(r.text).toBe(first.text);
      expect(r.headers['set-cookie']).toBeUndefined();
    }
    // the pinned pool loses its weight: the client is moved and told so
    const other = first.text === 'blue' ? 'green' : 'blue';
    await c.upsertApp(spec('shop', port, [['blue', first.text === 'blue' ? 0 : 50, [blue]], ['green', first.text === 'green' ? 0 : 50, [green]], ['canary', 50, [other === 'blue' ? blue : green]]], { stickyCookie: 'dpl_pool' }));
    const moved = await hit(port, '/', { headers: { cookie: pair } });
    expect(moved.text).toBe(other);
    expect(moved.headers['set-cookie']?.[0]).toMatch(/^dpl_pool=(blue|green|canary);/);
    expect(moved.headers['set-cookie']?.[0]).not.toContain(`dpl_pool=${first.text};`);
    // one weighted pool: no cookie at all
    c.setWeights('shop', { blue: 100, green: 0, canary: 0 });
    expect((await hit(port)).headers['set-cookie']).toBeUndefined();
  });
});
