// The nginx adapter's sequencing with a fake host: what it runs (exact argv), in which order, and
// what it leaves in place when a step fails. test/router-nginx.test.ts runs it against real nginx.
import { describe, expect, it } from 'vitest';
import type { HostFs, Transport } from '../hosts/transport.js';
import type { Clock } from '../util/clock.js';
import type { RunResult } from '../util/process.js';
import { emptyNginxState, renderNginxConfig } from './nginx-config.js';
import { NginxRouter } from './nginx.js';

const FILE = '/etc/nginx/deployer/shop.conf';
const KEPT = '/etc/nginx/deployer/.shop.conf.deployer-prev';
const ok = (stdout = ''): RunResult => ({ code: 0, signal: null, stdout, stderr: '', timedOut: false, durationMs: 1 });
const fail = (code: number, stderr: string): RunResult => ({ code, signal: null, stdout: '', stderr, timedOut: false, durationMs: 1 });

/** A host with files in memory and a script of command results; ps shows `ps[n]` on its n-th call (the last one after). */
function fakeHost(o: { test?: RunResult; reload?: RunResult; ps?: string[] }) {
  const files = new Map<string, string>();
  const ran: string[] = [];
  let psCalls = 0;
  const fs = {
    readText: async (p: string) => files.get(p) ?? null,
    writeAtomic: async (p: string, d: string) => {
      ran.push(`write ${p}`);
      files.set(p, d);
    },
    remove: async (p: string) => {
      ran.push(`remove ${p}`);
      files.delete(p);
    },
  } as unknown as HostFs;
  const transport = {
    name: 'local',
    fs,
    exec: async (argv: readonly string[]) => {
      const cmd = argv.join(' ');
      if (cmd === 'ps -eo pid=,ppid=,args=') {
        const out = o.ps ?? [];
        return ok(out[Math.min(psCalls++, out.length - 1)] ?? '');
      }
      ran.push(JSON.stringify(argv));
      if (cmd.includes('-t')) return o.test ?? ok();
      return o.reload ?? ok();
    },
  } as unknown as Transport;
  let now = 0;
  const clock: Clock = { now: () => new Date(now), monotonic: () => now, sleep: async (ms) => void (now += ms) };
  const router = new NginxRouter({ config_file: FILE, upstream: 'shop', test_command: 'nginx -t', reload_command: 'nginx -s reload' }, { transport, app: 'shop', clock });
  return { files, ran, router, transport, clock, elapsed: () => now };
}

const pools = [{ name: 'blue', targets: [{ id: 'blue-0', host: '127.0.0.1', port: 3000 }] }];
const master = (workers: string[]) => ['100 1 nginx: master process nginx', ...workers].join('\n');

describe('NginxRouter', () => {
  it('writes the file, then runs test_command, then reload_command, each through sh -c', async () => {
    const h = fakeHost({});
    await h.router.declarePools(pools);
    expect(h.ran).toEqual([`write ${KEPT}`, `write ${FILE}`, '["sh","-c","nginx -t"]', '["sh","-c","nginx -s reload"]', `remove ${KEPT}`]);
    expect(h.files.get(FILE)).toContain('server 127.0.0.1:3000 down;  # blue blue-0');
  });

  it('puts the previous file back and does not reload when nginx refuses the new one', async () => {
    const h = fakeHost({ test: fail(1, 'nginx: [emerg] host not found in upstream "x" in /etc/nginx/deployer/shop.conf:12\nnginx: configuration file /etc/nginx/nginx.conf test failed') });
    const previous = renderNginxConfig(emptyNginxState(), 'shop', 'shop');
    h.files.set(FILE, previous);
    const err = await h.router.declarePools(pools).catch((e: Error) => e);
    expect(h.ran).toEqual([`write ${KEPT}`, `write ${FILE}`, '["sh","-c","nginx -t"]', `write ${FILE}`, `remove ${KEPT}`]);
    expect(h.files.get(FILE)).toBe(previous);
    expect((err as Error).message).toMatch(/^router\.nginx\.test_command: .*: exit 1: nginx: \[emerg\] host not found in upstream "x" in \/etc\/nginx\/deployer\/shop\.conf:12\nnginx: configuration file \/etc\/nginx\/nginx\.conf test failed$/s);
  });

  it('refuses a file it did not write, naming router.nginx.config_file, and changes nothing', async () => {
    const h = fakeHost({});
    h.files.set(FILE, 'upstream shop { server 127.0.0.1:3000; }\n');
    const err = await h.router.declarePools(pools).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^router\.nginx\.config_file: \/etc\/nginx\/deployer\/shop\.conf has no "# deployer-state:" line/);
    expect(h.ran).toEqual([]);
    await expect(h.router.live()).rejects.toThrow(/^router\.nginx\.config_file/);
  });

  it('removes the file again when there was none and nginx refuses it', async () => {
    const h = fakeHost({ test: fail(1, 'nginx: [emerg] unknown directive') });
    const err = await h.router.declarePools(pools).catch((e: Error) => e);
    expect((err as Error).message).toBe(`router.nginx.test_command: nginx refused the new configuration (${FILE} is back as it was, nginx was not reloaded): exit 1: nginx: [emerg] unknown directive`);
    expect(h.ran.slice(-2)).toEqual([`remove ${FILE}`, `remove ${KEPT}`]);
    expect([h.files.has(FILE), h.files.has(KEPT)]).toEqual([false, false]);
  });

  it('confirms a reload by a new worker generation, and fails (file restored) when none comes', async () => {
    const h = fakeHost({ ps: [master(['101 100 nginx: worker process']), master(['101 100 nginx: worker process is shutting down', '102 100 nginx: worker process'])] });
    await h.router.declarePools(pools);
    const stuck = fakeHost({ ps: [master(['101 100 nginx: worker process'])] });
    stuck.files.set(FILE, h.files.get(FILE)!);
    const before = stuck.files.get(FILE);
    const err = await stuck.router.setWeights({ blue: 100 }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/^router\.nginx\.reload_command: ran, but no nginx master started new workers within 5s/);
    expect(stuck.files.get(FILE)).toBe(before);
    expect(stuck.elapsed()).toBeGreaterThanOrEqual(5000);
  });

  it('drain waits for the old workers to exit, bounded by its timeout', async () => {
    const gen1 = master(['101 100 nginx: worker process']);
    const gen2 = master(['101 100 nginx: worker process is shutting down', '102 100 nginx: worker process']);
    const gen3 = master(['101 100 nginx: worker process is shutting down', '102 100 nginx: worker process is shutting down', '103 100 nginx: worker process']);
    const h = fakeHost({ ps: [gen1, gen2, gen2, gen3] });
    await h.router.declarePools(pools);
    const t0 = h.elapsed();
    await h.router.drain('blue-0', 2000);
    // the old worker never exits in this script: drain gives up at its timeout
    expect(h.elapsed() - t0).toBeGreaterThanOrEqual(2000);
    expect(h.elapsed() - t0).toBeLessThan(2200);
  });

  it('gives a drain its whole time when no nginx runs where it can see (nobody can tell when its requests are done)', async () => {
    const h = fakeHost({ ps: [''] });
    await h.router.declarePools(pools);
    expect(h.elapsed()).toBe(0);
    await h.router.drain('blue-0', 60_000);
    expect(h.elapsed()).toBe(60_000);
    expect((await h.router.live())!.pools[0]!.targets[0]!.state).toBe('down');
  });

  it('after a crash between writing the file and the reload, reads and restores what nginx last accepted', async () => {
    const h = fakeHost({});
    await h.router.declarePools(pools);
    const accepted = h.files.get(FILE)!;
    // a kill -9 after the new file was written, before its test: both files on disk
    h.files.set(KEPT, accepted);
    h.files.set(FILE, accepted.replace('server 127.0.0.1:3000 down;', 'server 127.0.0.1:3999 down;').replace('"port":3000', '"port":3999'));
    expect((await h.router.live())!.pools[0]!.targets[0]!.port).toBe(3000);
    h.ran.length = 0;
    await h.router.setWeights({ blue: 100 });
    expect(h.ran.slice(0, 2)).toEqual([`write ${FILE}`, `remove ${KEPT}`]);
    expect(h.files.get(FILE)).toContain('server 127.0.0.1:3000 weight=1;');
    expect(h.files.has(KEPT)).toBe(false);
  });

  it('previews a weight change as the servers it would write and the commands', async () => {
    const h = fakeHost({});
    await h.router.declarePools([...pools, { name: 'green', targets: [{ id: 'green-0', host: '127.0.0.1', port: 3100 }] }]);
    const ran = h.ran.length;
    expect((await h.router.preview([{ kind: 'weights', weights: { blue: 95, green: 5 } }]))[0]!.lines).toEqual([
      `write ${FILE}: upstream shop (blue 95%, green 5%): server 127.0.0.1:3000 weight=19 (blue-0), server 127.0.0.1:3100 weight=1 (green-0)`,
      'test: nginx -t',
      'reload: nginx -s reload',
    ]);
    // read from the file by a new router (a new process), and nothing written or run
    const fresh = new NginxRouter({ config_file: FILE, upstream: 'shop', test_command: 'nginx -t', reload_command: 'nginx -s reload' }, { transport: h.transport, app: 'shop', clock: h.clock });
    expect((await fresh.preview([{ kind: 'drain', id: 'green-0' }, { kind: 'weights', weights: { blue: 100 } }])).map((p) => p.lines[0])).toEqual([
      `write ${FILE}: upstream shop (blue 0%, green 0%): server 127.0.0.1:3000 down (blue-0), server 127.0.0.1:3100 down (green-0)`,
      `write ${FILE}: upstream shop (blue 100%, green 0%): server 127.0.0.1:3000 weight=1 (blue-0), server 127.0.0.1:3100 down (green-0)`,
    ]);
    expect(h.ran.length).toBe(ran);
  });
});
