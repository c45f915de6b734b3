// Pooled upstream connections and the app's own keep-alive timeout: a node http app with
// keepAliveTimeout = 1000 (it says timeout=1 and closes at about 2 s) must never make the router send
// a POST on a connection it closed.
import { createServer, request, Agent } from 'node:http';
import { describe, expect, it } from 'vitest';
import { freePort } from './support/net.js';
import { appSpec, useRouterProcess } from './support/router-process.js';

const env = useRouterProcess();
const { servers, agents } = env;

/** A node http app with this keepAliveTimeout (it announces Keep-Alive: timeout=N and closes about a second after). */
async function shortKeepAliveApp(keepAliveMs: number): Promise<number> {
  const s = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('stored'));
  });
  s.keepAliveTimeout = keepAliveMs;
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as { port: number }).port;
}

function post(port: number, agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/orders', method: 'POST', agent, timeout: 5000, headers: { 'content-type': 'text/plain' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end('{"item":1}');
  });
}

describe('router: pooled upstream connections', () => {
  it("retires a pooled connection before the app's announced keep-alive timeout: no POST meets a closed connection", async () => {
    await env.rp.start();
    const target = await shortKeepAliveApp(1000);
    const port = await freePort();
    expect(await env.rp.ctl('PUT', '/apps/shop', appSpec(port, target))).toMatchObject({ status: 200 });
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    expect(await post(port, agent)).toBe(200);
    // POSTs spaced just around the app's timeout (the spacing is the scenario, not a wait)
    const statuses: number[] = [];
    for (let i = 0; i < 16; i++) {
      await new Promise((r) => setTimeout(r, 1994 + i));
      statuses.push(await post(port, agent));
    }
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  }, 40_000);
});
