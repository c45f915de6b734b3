import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { RouterHealth, TargetState } from '../model.js';
import { nextHealthState, probe } from './health.js';

const h: RouterHealth = { path: '/health', intervalMs: 100, timeoutMs: 100, unhealthyThreshold: 2, healthyThreshold: 3 };
const subject = (state: TargetState) => ({ state, okStreak: 0, failStreak: 0 });

function run(state: TargetState, results: boolean[]): TargetState[] {
  const s = subject(state);
  return results.map((ok) => (s.state = nextHealthState(s, ok, h)));
}

describe('nextHealthState', () => {
  it('puts an unknown target in rotation on its first pass', () => {
    expect(run('unknown', [true])).toEqual(['healthy']);
    expect(run('unknown', [false, false])).toEqual(['unknown', 'unhealthy']);
  });

  it('takes a healthy target out after unhealthyThreshold failures in a row', () => {
    expect(run('healthy', [false, true, false, false])).toEqual(['healthy', 'healthy', 'healthy', 'unhealthy']);
  });

  it('brings an unhealthy target back after healthyThreshold passes in a row', () => {
    expect(run('unhealthy', [true, true, false, true, true, true])).toEqual(['unhealthy', 'unhealthy', 'unhealthy', 'unhealthy', 'unhealthy', 'healthy']);
  });

  it('leaves draining and disabled targets as they are', () => {
    expect(run('draining', [true, false, false, true])).toEqual(['draining', 'draining', 'draining', 'draining']);
    expect(run('disabled', [true, true, true])).toEqual(['disabled', 'disabled', 'disabled']);
  });
});

describe('probe', () => {
  const servers: ReturnType<typeof createServer>[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('passes on 2xx/3xx, fails on other statuses, refused connections and timeouts', async () => {
    const s = createServer((req, res) => {
      if (req.url === '/hang') return;
      res.writeHead(Number(req.url!.slice(1)));
      res.end();
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as { port: number }).port;
    expect(await probe('127.0.0.1', port, '/200', 500)).toBeNull();
    expect(await probe('127.0.0.1', port, '/302', 500)).toBeNull();
    expect(await probe('127.0.0.1', port, '/503', 500)).toBe('GET /503 answered 503');
    expect(await probe('127.0.0.1', port, '/hang', 100)).toBe('health check timed out after 100 ms');
    expect(await probe('127.0.0.1', port, null, 500)).toBeNull();
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
    expect(await probe('127.0.0.1', port, null, 500)).toMatch(/^tcp connect: .*ECONNREFUSED/);
    expect(await probe('127.0.0.1', port, '/200', 500)).toMatch(/ECONNREFUSED/);
  });
});
