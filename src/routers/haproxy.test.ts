// HaproxyRouter with a fake runtime API and an in-memory file system: the order of file writes
// and commands, the reload_command path, and what never reaches HAProxy. The real HAProxy is in
// test/router-haproxy.test.ts.
import { describe, expect, it } from 'vitest';
import type { RouterError } from '../errors.js';
import type { Transport } from '../hosts/transport.js';
import type { RunResult } from '../util/process.js';
import { systemClock } from '../util/clock.js';
import { HaproxyRouter } from './haproxy.js';

const FILE = '/etc/haproxy/deployer/shop.cfg';
const HEAD = '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port';

/** A fake world: every file write and command in one log; `answer` plays HAProxy. */
function world(answer: (line: string) => string, exec: (argv: readonly string[]) => Partial<RunResult> = () => ({ code: 0 })) {
  const files = new Map<string, string>();
  const log: string[] = [];
  const transport = {
    name: 'local',
    fs: {
      readText: async (p: string) => files.get(p) ?? null,
      writeAtomic: async (p: string, d: string) => {
        files.set(p, d);
        log.push(`write ${p}`);
      },
      mkdirp: async () => undefined,
    },
    exec: async (argv: readonly string[]) => {
      log.push(`exec ${argv.join(' ')}`);
      return { code: 0, signal: null, stdout: '', stderr: '', timedOut: false, durationMs: 1, ...exec(argv) };
    },
  } as unknown as Transport;
  const api = {
    run: async (line: string) => {
      log.push(line);
      return answer(line);
    },
  };
  const router = (reload?: string) =>
    new HaproxyRouter({ admin_socket: '/run/haproxy/admin.sock', config_file: FILE, ...(reload ? { reload_command: reload } : {}) }, { transport, app: 'shop', clock: systemClock, api });
  return { files, log, router };
}

/** HAProxy with the servers `have` (name -> uweight), answering every change with nothing. */
const haproxyWith = (have: Record<string, number>) => (line: string) =>
  line.startsWith('show servers state')
    ? `1\n${HEAD}\n${Object.entries(have)
        .map(([n, w], i) => `3 shop ${i + 1} ${n} 127.0.0.1 2 0 ${w} ${w} 1 1 0 2 0 0 0 0 - ${3000 + i}`)
        .join('\n')}\n\n`
    : line.startsWith('add server')
      ? 'New server registered.\n\n'
      : '\n';

const blue = { name: 'blue', targets: [{ id: 'blue-0', host: '127.0.0.1', port: 3000 }] };
const green = { name: 'green', targets: [{ id: 'green-0', host: '127.0.0.1', port: 3001 }] };

describe('HaproxyRouter (fake runtime API)', () => {
  it('writes the file before it changes HAProxy, then sends all weights on one line', async () => {
    const w = world(haproxyWith({ 'blue-0': 1, 'green-0': 0 }));
    w.files.set(FILE, '# deployer-state: {"pools":[{"name":"blue","targets":[{"id":"blue-0","host":"127.0.0.1","port":3000}]},{"name":"green","targets":[{"id":"green-0","host":"127.0.0.1","port":3001}]}],"weights":{"blue":100},"out":{}}\n');
    await w.router().setWeights({ green: 100 });
    expect(w.log).toEqual([`write ${FILE}`, 'show servers state shop', 'set server shop/green-0 weight 1; set server shop/blue-0 weight 0']);
    expect(w.files.get(FILE)).toContain('    server blue-0 127.0.0.1:3000 weight 0\n    server green-0 127.0.0.1:3001 weight 1\n');
  });

  it('a target new to a pool with traffic waits in maintenance until enable', async () => {
    const w = world(haproxyWith({ 'blue-0': 1 }));
    const r = w.router();
    w.files.set(FILE, '# deployer-state: {"pools":[{"name":"blue","targets":[{"id":"blue-0","host":"127.0.0.1","port":3000}]}],"weights":{"blue":100},"out":{}}\n');
    await r.declarePools([{ name: 'blue', targets: [...blue.targets, { id: 'blue-1', host: '127.0.0.1', port: 3002 }] }]);
    expect(w.files.get(FILE)).toContain('    server blue-1 127.0.0.1:3002 weight 0 disabled\n');
    expect(w.log.slice(-1)).toEqual(['add server shop/blue-1 127.0.0.1:3002 weight 0']);
  });

  it('a backend HAProxy lacks is loaded with reload_command once the file is written, then changed', async () => {
    let reloaded = false;
    const w = world(
      (line) => (!reloaded && line.startsWith('show servers state') ? "Can't find backend.\n\n" : haproxyWith({})(line)),
      () => {
        reloaded = true;
        return { code: 0 };
      },
    );
    await w.router('systemctl reload haproxy').declarePools([blue]);
    expect(w.log).toEqual([`write ${FILE}`, 'show servers state shop', 'exec sh -c systemctl reload haproxy', 'show servers state shop', 'add server shop/blue-0 127.0.0.1:3000 weight 0', 'set server shop/blue-0 state ready']);
  });

  it('a failing reload_command is an error naming it; without one the error names the backend', async () => {
    const missing = (line: string) => (line.startsWith('show') ? "Can't find backend.\n\n" : '\n');
    const failing = world(missing, () => ({ code: 1, stderr: 'Job for haproxy.service failed.' }));
    await expect(failing.router('systemctl reload haproxy').declarePools([blue])).rejects.toThrow(/^router\.haproxy\.reload_command: `systemctl reload haproxy` failed: exited 1: Job for haproxy.service failed\.$/);
    const e = await world(missing).router().declarePools([blue]).catch((x: unknown) => x);
    expect((e as RouterError).message).toBe('router.haproxy.backend: HAProxy (/run/haproxy/admin.sock) has no backend shop');
    expect((e as RouterError).hint).toContain(`-f ${FILE}`);
  });

  it('a hand-broken state line stops everything before HAProxy is touched', async () => {
    const w = world(haproxyWith({}));
    w.files.set(FILE, '# deployer-state: {"pools": oops\nbackend shop\n');
    await expect(w.router().setWeights({})).rejects.toThrow(/^router\.haproxy\.config_file: /);
    expect(w.log).toEqual([]);
  });

  it('routes: an empty list is a no-op, any route is an error naming router.type', async () => {
    const w = world(haproxyWith({}));
    await w.router().setRoutes([]);
    await expect(w.router().setRoutes([{ header: 'x-canary', pool: 'green' }])).rejects.toThrow(/^router\.type: HAProxy routes .* not supported/);
    expect(w.log).toEqual([]);
  });

  it('previews the file and the runtime commands of a weight change', async () => {
    const w = world(haproxyWith({ 'blue-0': 1, 'green-0': 0 }));
    const r = w.router();
    await r.declarePools([blue, green]);
    await r.setWeights({ blue: 100 });
    const n = w.log.length;
    expect((await w.router().preview([{ kind: 'weights', weights: { blue: 10, green: 90 } }]))[0]!.lines).toEqual([
      `write ${FILE}: backend shop: server blue-0 127.0.0.1:3000 weight 1, server green-0 127.0.0.1:3001 weight 9`,
      'runtime API: set server shop/green-0 weight 9',
    ]);
    // it read HAProxy's servers, and changed nothing
    expect(w.log.slice(n)).toEqual(['show servers state shop']);
    expect((await r.preview([{ kind: 'weights', weights: { red: 100 } }]))[0]!.lines).toEqual(['would fail: router.haproxy.backend: pool red has no targets in backend shop (declare it first)']);
  });

  it('live() with nothing in the file still asks HAProxy: a backend it lacks is an error, not "nothing routed" (but with reload_command)', async () => {
    const w = world((line) => (line.startsWith('show stat') ? 'No such backend.\n\n' : '\n'));
    await expect(w.router().live()).rejects.toThrow(/^router\.haproxy\.backend: HAProxy \(\/run\/haproxy\/admin\.sock\) has no backend shop/);
    expect(await w.router('systemctl reload haproxy').live()).toBeNull();
    const known = world((line) => (line.startsWith('show stat') ? '# pxname,svname,scur\nshop,BACKEND,0\n\n' : '\n'));
    expect(await known.router().live()).toBeNull();
  });
});
