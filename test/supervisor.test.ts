import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localProcessAlive, procStartTime } from '../src/hosts/local.js';
import type { InstanceSpec } from '../src/runtime/model.js';
import { Supervisor, type SupervisorEvent, type SupervisorOptions } from '../src/runtime/supervisor/index.js';
import { freePort, get, waitFor } from './support/net.js';

const NODE = JSON.stringify(process.execPath);

// serves what it was started with; one line on stdout and one on stderr at start, one per request
const SERVER = `
const http = require('node:http');
console.log('listening on ' + process.env.PORT);
console.error('stderr hello');
http.createServer((req, res) => {
  console.log('request ' + req.url);
  res.end(JSON.stringify({ pid: process.pid, port: process.env.PORT, foo: process.env.FOO, cwd: process.cwd() }));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

let tmp: string;
let port: number;
const supervisors: Supervisor[] = [];
const pids = new Set<number>();
let blocker: Server | undefined;

beforeEach(async () => {
  tmp = realpathSync(mkdtempSync(join(tmpdir(), 'deployer-supervisor-')));
  mkdirSync(join(tmp, 'release'));
  writeFileSync(join(tmp, 'release', 'server.cjs'), SERVER);
  port = await freePort();
});

afterEach(async () => {
  // forget first (no restarts), then kill every group that was started, by pid
  for (const s of supervisors.splice(0)) s.detach();
  for (const pid of pids) {
    for (const target of [-pid, pid]) {
      try {
        process.kill(target, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  pids.clear();
  if (blocker) await new Promise((resolve) => blocker!.close(resolve));
  blocker = undefined;
  rmSync(tmp, { recursive: true, force: true });
});

function spec(over: Partial<InstanceSpec> = {}): InstanceSpec {
  return {
    app: 'shop',
    id: 'web-0',
    pool: 'web',
    port,
    release: 'r1',
    dir: join(tmp, 'release'),
    command: `exec ${NODE} server.cjs`,
    env: { FOO: 'bar' },
    stopTimeoutMs: 10_000,
    logFile: join(tmp, 'logs', 'web-0.log'),
    ...over,
  };
}

function supervisor(opts: SupervisorOptions = {}): { sup: Supervisor; events: SupervisorEvent[] } {
  const events: SupervisorEvent[] = [];
  const sup = new Supervisor({
    ...opts,
    onEvent: (e) => {
      if ((e.type === 'started' || e.type === 'adopted') && e.pid) pids.add(e.pid);
      events.push(e);
      opts.onEvent?.(e);
    },
  });
  supervisors.push(sup);
  return { sup, events };
}

async function served(): Promise<{ pid: number; port: string; foo: string; cwd: string } | undefined> {
  try {
    const r = await get(port, '/');
    return r.status === 200 ? JSON.parse(r.body) : undefined;
  } catch {
    return undefined;
  }
}

const servedBy = (pid: number) => waitFor(async () => ((await served())?.pid === pid ? true : undefined), `pid ${pid} to answer on the port`);
const readLog = (file = join(tmp, 'logs', 'web-0.log')) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
const ofType = <T extends SupervisorEvent['type']>(events: SupervisorEvent[], type: T) => events.filter((e): e is Extract<SupervisorEvent, { type: T }> => e.type === type);
const alive = (pid: number) => localProcessAlive({ pid });

describe('Supervisor: start', () => {
  it('runs the command in the release directory with PORT and the env set; its output lands in the log', async () => {
    const { sup, events } = supervisor();
    const status = await sup.start(spec());
    expect(status).toMatchObject({ app: 'shop', id: 'web-0', pool: 'web', port, release: 'r1', state: 'running', restarts: 0, lastExit: null });
    const pid = status.pid!;
    expect(ofType(events, 'started')).toEqual([{ type: 'started', app: 'shop', id: 'web-0', pid, restarts: 0 }]);
    await servedBy(pid);
    expect(await served()).toEqual({ pid, port: String(port), foo: 'bar', cwd: join(tmp, 'release') });
    await waitFor(() => (/listening on \d+\n[^]*stderr hello/.test(readLog()) || /stderr hello\n[^]*listening on/.test(readLog()) ? true : undefined), 'both streams in the log');
    expect(readLog()).toContain(`listening on ${port}`);
    // its own process group, so a signal to -pid reaches what it starts
    expect(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[2]).toBe(String(pid));
    await expect(sup.start(spec())).rejects.toThrow(`instance web-0: already running (pid ${pid}); stop it first`);
    expect(sup.status('shop').map((s) => s.id)).toEqual(['web-0']);
    expect(sup.status('other')).toEqual([]);
  });

  it('refuses a port another process listens on, naming the instance and the port; nothing is spawned', async () => {
    blocker = createServer();
    await new Promise<void>((resolve) => blocker!.listen(port, '127.0.0.1', resolve));
    const { sup, events } = supervisor();
    await expect(sup.start(spec({ command: 'touch ran' }))).rejects.toThrow(`instance web-0: port ${port} is already in use by another process`);
    expect(sup.get('shop', 'web-0')).toMatchObject({ state: 'failed', pid: null });
    expect(events).toEqual([]);
    expect(existsSync(join(tmp, 'release', 'ran'))).toBe(false);
  });

  it('refuses a missing directory with a clear error', async () => {
    const { sup } = supervisor();
    const missing = join(tmp, 'releases', 'gone');
    await expect(sup.start(spec({ dir: missing }))).rejects.toThrow(`instance web-0: directory ${missing} does not exist`);
  });

  it('keeps the instance running and logging when the daemon is SIGKILLed', async () => {
    const script = join(tmp, 'daemon.mjs');
    const index = fileURLToPath(new URL('../src/runtime/supervisor/index.ts', import.meta.url));
    writeFileSync(
      script,
      `import { Supervisor } from ${JSON.stringify(index)};
const sup = new Supervisor();
const s = await sup.start(JSON.parse(process.argv[2]));
console.log(JSON.stringify(s));
setInterval(() => {}, 1000);
`,
    );
    const daemon = spawn(process.execPath, ['--import', 'tsx', script, JSON.stringify(spec())], { cwd: fileURLToPath(new URL('..', import.meta.url)), stdio: ['ignore', 'pipe', 'inherit'] });
    pids.add(daemon.pid!);
    let out = '';
    daemon.stdout!.on('data', (d) => (out += d));
    const status = await waitFor(() => (out.includes('\n') ? (JSON.parse(out) as { pid: number }) : undefined), 'the daemon to start the instance', 20_000);
    pids.add(status.pid);
    await servedBy(status.pid);
    const exited = new Promise((resolve) => daemon.once('exit', resolve));
    daemon.kill('SIGKILL');
    await exited;
    expect(alive(status.pid)).toBe(true);
    const r = await get(port, '/after-the-daemon-died');
    expect(JSON.parse(r.body).pid).toBe(status.pid);
    await waitFor(() => (readLog().includes('request /after-the-daemon-died') ? true : undefined), 'the request in the log');
  });
});

describe('Supervisor: crashes', () => {
  it('restarts a SIGKILLed instance after a growing backoff and counts the restarts', async () => {
    const states: string[] = [];
    const { sup, events } = supervisor({
      backoff: { initialMs: 100, factor: 2, maxMs: 5000, resetAfterMs: 60_000 },
      onEvent: (e) => {
        if (e.type === 'exited') states.push(sup.get('shop', 'web-0')!.state);
      },
    });
    const first = (await sup.start(spec())).pid!;
    await servedBy(first);

    process.kill(first, 'SIGKILL');
    const second = await waitFor(() => ofType(events, 'started')[1]?.pid, 'a restart');
    expect(second).not.toBe(first);
    await servedBy(second);
    expect(ofType(events, 'exited')).toEqual([expect.objectContaining({ type: 'exited', app: 'shop', id: 'web-0', pid: first, code: null, signal: 'SIGKILL', restartInMs: 100 })]);
    expect(sup.get('shop', 'web-0')).toMatchObject({ state: 'running', pid: second, restarts: 1, lastExit: { code: null, signal: 'SIGKILL' } });

    process.kill(second, 'SIGKILL');
    const third = await waitFor(() => ofType(events, 'started')[2]?.pid, 'a second restart');
    await servedBy(third);
    expect(ofType(events, 'exited').map((e) => e.restartInMs)).toEqual([100, 200]);
    expect(ofType(events, 'started').map((e) => e.restarts)).toEqual([0, 1, 2]);
    expect(sup.get('shop', 'web-0')!.restarts).toBe(2);
    expect(states).toEqual(['backoff', 'backoff']);
    expect(sup.records()).toEqual({ 'shop/web-0': { pid: third, start: procStartTime(third) } });
  });

  it('a command that exits at once backs off longer each time; waitStable and logTail show why', async () => {
    const { sup, events } = supervisor({ backoff: { initialMs: 50, factor: 2, maxMs: 5000, resetAfterMs: 60_000 } });
    await sup.start(spec({ command: 'echo starting; echo "boom: DATABASE_URL is not set" >&2; exit 3' }));
    const stable = await sup.waitStable('shop', 'web-0', 5000);
    expect(stable).toMatchObject({ stable: false, exit: { code: 3, signal: null } });
    expect(stable.stable === false && stable.message).toBe('instance web-0 exited right after starting (code 3):\nstarting\nboom: DATABASE_URL is not set');
    await waitFor(() => (ofType(events, 'exited').length >= 4 ? true : undefined), 'four exits');
    expect(
      ofType(events, 'exited')
        .slice(0, 4)
        .map((e) => [e.code, e.restartInMs]),
    ).toEqual([
      [3, 50],
      [3, 100],
      [3, 200],
      [3, 400],
    ]);
    expect(sup.get('shop', 'web-0')!.restarts).toBeGreaterThanOrEqual(3);
    expect(sup.logTail('shop', 'web-0', 1)).toBe('boom: DATABASE_URL is not set');
    expect(sup.logTail('shop', 'web-0').split('\n').filter((l) => l === 'starting').length).toBeGreaterThanOrEqual(4);
  });

  it('waitStable is stable for an instance that stays up', async () => {
    const { sup } = supervisor();
    const { pid } = await sup.start(spec());
    expect(await sup.waitStable('shop', 'web-0', 300)).toEqual({ stable: true, pid });
  });

  it('stop() during the backoff cancels the restart', async () => {
    const { sup, events } = supervisor({ backoff: { initialMs: 400, factor: 2, maxMs: 5000, resetAfterMs: 60_000 } });
    await sup.start(spec({ command: 'exit 1' }));
    await waitFor(() => (sup.get('shop', 'web-0')!.state === 'backoff' ? true : undefined), 'the backoff');
    await sup.stop('shop', 'web-0');
    expect(sup.get('shop', 'web-0')).toMatchObject({ state: 'stopped', pid: null, restarts: 0 });
    // absence: no restart in twice the delay it would have waited
    await new Promise((r) => setTimeout(r, 800));
    expect(ofType(events, 'started')).toHaveLength(1);
    expect(ofType(events, 'stopped')).toEqual([{ type: 'stopped', app: 'shop', id: 'web-0', pid: null, killed: false }]);
  });

  it('keeps backing off while another process holds the port at restart time, then starts', async () => {
    const { sup, events } = supervisor({ backoff: { initialMs: 50, factor: 2, maxMs: 400, resetAfterMs: 60_000 } });
    const first = (await sup.start(spec())).pid!;
    await servedBy(first);
    process.kill(first, 'SIGKILL');
    await waitFor(() => (ofType(events, 'exited').length === 1 ? true : undefined), 'the exit');
    // the timer fires after 50 ms: take the port before that
    blocker = createServer();
    await new Promise<void>((resolve, reject) => {
      blocker!.once('error', reject);
      blocker!.listen(port, '127.0.0.1', resolve);
    });
    const failed = await waitFor(() => (ofType(events, 'restart-failed').length >= 2 ? ofType(events, 'restart-failed') : undefined), 'two failed restarts');
    expect(failed[0]).toMatchObject({ reason: 'port-in-use', message: `instance web-0: port ${port} is already in use by another process` });
    expect(failed[1]!.restartInMs).toBeGreaterThan(failed[0]!.restartInMs);
    expect(sup.get('shop', 'web-0')!.state).toBe('backoff');
    await new Promise((resolve) => blocker!.close(resolve));
    blocker = undefined;
    const again = await waitFor(() => ofType(events, 'started')[1]?.pid, 'the restart once the port is free');
    await servedBy(again);
  });
});

describe('Supervisor: stop', () => {
  it('sends SIGTERM to the whole group: the shell and the child it started are both gone', async () => {
    const { sup, events } = supervisor();
    const { pid } = await sup.start(spec({ command: 'sleep 1000 & echo $! > grandchild.pid; wait' }));
    const grandchild = await waitFor(() => Number(readFileSync(join(tmp, 'release', 'grandchild.pid'), 'utf8')) || undefined, 'the grandchild');
    pids.add(grandchild);
    expect(alive(grandchild)).toBe(true);
    const t0 = Date.now();
    await sup.stop('shop', 'web-0');
    expect(Date.now() - t0).toBeLessThan(5000); // SIGTERM did it; stopTimeoutMs is 10 s
    expect(alive(pid!)).toBe(false);
    expect(alive(grandchild)).toBe(false);
    expect(sup.get('shop', 'web-0')).toMatchObject({ state: 'stopped', pid: null });
    expect(ofType(events, 'exited')).toEqual([]);
    expect(ofType(events, 'stopped')).toEqual([{ type: 'stopped', app: 'shop', id: 'web-0', pid, killed: false }]);
    expect(sup.records()).toEqual({});
    // stopping again, or an unknown instance, resolves
    await sup.stop('shop', 'web-0');
    await sup.stop('shop', 'nope');
  });

  it('escalates to SIGKILL after stopTimeoutMs for a program that ignores SIGTERM', async () => {
    writeFileSync(
      join(tmp, 'release', 'stubborn.cjs'),
      `process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
require('node:fs').writeFileSync('ready', '');
setInterval(() => {}, 1000);
`,
    );
    const { sup, events } = supervisor();
    const { pid } = await sup.start(spec({ command: `exec ${NODE} stubborn.cjs`, stopTimeoutMs: 700 }));
    await waitFor(() => (existsSync(join(tmp, 'release', 'ready')) ? true : undefined), 'the TERM handler');
    const t0 = Date.now();
    await sup.stop('shop', 'web-0');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(600);
    expect(alive(pid!)).toBe(false);
    expect(ofType(events, 'stopped')).toEqual([{ type: 'stopped', app: 'shop', id: 'web-0', pid, killed: true }]);
    await waitFor(() => (readLog().includes('ignoring SIGTERM') ? true : undefined), 'the SIGTERM to have reached it first');
  });

  it('stopAll() stops every instance at once', async () => {
    writeFileSync(join(tmp, 'release', 'stubborn.cjs'), `process.on('SIGTERM', () => {}); require('node:fs').writeFileSync(process.env.PORT + '.ready', ''); setInterval(() => {}, 1000);\n`);
    const { sup } = supervisor();
    const ports = [port, await freePort(), await freePort()];
    const specs = ports.map((p, i) => spec({ id: `web-${i}`, port: p, command: `exec ${NODE} stubborn.cjs`, stopTimeoutMs: 800, logFile: join(tmp, 'logs', `web-${i}.log`) }));
    const started = await Promise.all(specs.map((s) => sup.start(s)));
    await waitFor(() => (ports.every((p) => existsSync(join(tmp, 'release', `${p}.ready`))) ? true : undefined), 'three TERM handlers');
    const t0 = Date.now();
    await sup.stopAll();
    // three SIGKILL escalations in parallel, not one after the other
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(started.every((s) => !alive(s.pid!))).toBe(true);
    expect(sup.status().map((s) => s.state)).toEqual(['stopped', 'stopped', 'stopped']);
  });
});

describe('Supervisor: adoption after the daemon restarts', () => {
  it('a new supervisor adopts the running process from records(): same pid, no second copy; it restarts it when it dies', async () => {
    const first = supervisor();
    const { pid } = await first.sup.start(spec());
    await servedBy(pid!);
    const records = first.sup.records();
    expect(records).toEqual({ 'shop/web-0': { pid, start: procStartTime(pid!) } });
    first.sup.detach(); // the daemon dies: its timers go, the process stays
    expect(() => first.sup.status()).not.toThrow();
    await expect(first.sup.start(spec())).rejects.toThrow('detached');

    const { sup, events } = supervisor({ backoff: { initialMs: 100 } });
    expect(sup.adopt(spec(), records['shop/web-0']!)).toBe('adopted');
    expect(events).toEqual([{ type: 'adopted', app: 'shop', id: 'web-0', pid }]);
    expect(sup.get('shop', 'web-0')).toMatchObject({ state: 'running', pid, restarts: 0 });
    expect(sup.records()).toEqual(records);
    await expect(sup.start(spec())).rejects.toThrow(`instance web-0: already running (pid ${pid})`);
    expect((await served())?.pid).toBe(pid);
    expect(ofType(events, 'started')).toEqual([]);

    process.kill(pid!, 'SIGKILL');
    const again = await waitFor(() => ofType(events, 'started')[0]?.pid, 'the restart of the adopted instance');
    expect(ofType(events, 'exited')).toEqual([expect.objectContaining({ pid, code: null, signal: null, restartInMs: 100 })]);
    await servedBy(again);
    expect(sup.get('shop', 'web-0')).toMatchObject({ state: 'running', pid: again, restarts: 1 });
  });

  it('stop() works on an adopted process (group signal)', async () => {
    const first = supervisor();
    const { pid } = await first.sup.start(spec({ command: 'sleep 1000 & echo $! > grandchild.pid; wait' }));
    const grandchild = await waitFor(() => Number(readFileSync(join(tmp, 'release', 'grandchild.pid'), 'utf8')) || undefined, 'the grandchild');
    pids.add(grandchild);
    const record = first.sup.records()['shop/web-0']!;
    first.sup.detach();
    const { sup, events } = supervisor();
    expect(sup.adopt(spec(), record)).toBe('adopted');
    await sup.stop('shop', 'web-0');
    expect(alive(pid!)).toBe(false);
    expect(alive(grandchild)).toBe(false);
    expect(ofType(events, 'exited')).toEqual([]);
    expect(sup.get('shop', 'web-0')!.state).toBe('stopped');
  });

  it("'gone' for a record whose pid now belongs to another process, or to none", async () => {
    const { sup, events } = supervisor();
    const start = procStartTime(process.pid)!;
    expect(sup.adopt(spec(), { pid: process.pid, start: `${Number(start) + 1}` })).toBe('gone');
    const dead = spawn('/bin/sh', ['-c', 'exit 0']);
    const deadPid = dead.pid!;
    await new Promise((resolve) => dead.once('exit', resolve));
    expect(sup.adopt(spec(), { pid: deadPid })).toBe('gone');
    expect(sup.get('shop', 'web-0')).toBeUndefined();
    expect(events).toEqual([]);
  });
});

describe('Supervisor: log rotation', () => {
  it('copies a log past maxBytes to .1 (shifting up to keep) and the process goes on writing into the emptied file', async () => {
    writeFileSync(join(tmp, 'release', 'chatty.cjs'), `let i = 0; setInterval(() => console.log('line ' + i++ + ' ' + 'x'.repeat(30)), 5);\n`);
    const { sup, events } = supervisor({ log: { maxBytes: 400, keep: 2, checkIntervalMs: 50 } });
    await sup.start(spec({ command: `exec ${NODE} chatty.cjs` }));
    const log = join(tmp, 'logs', 'web-0.log');
    // the file shift comes before its event: wait for both
    await waitFor(() => (existsSync(`${log}.2`) && ofType(events, 'log-rotated').length >= 2 ? true : undefined), 'two rotations');
    expect(ofType(events, 'log-rotated')[0]).toEqual({ type: 'log-rotated', app: 'shop', id: 'web-0', file: log });

    const lineNumbers = (text: string) => [...text.matchAll(/^line (\d+) x+$/gm)].map((m) => Number(m[1]));
    // .1 first: whatever rotates in between only makes the log newer still
    const rotated = lineNumbers(readFileSync(`${log}.1`, 'utf8'));
    const current = await waitFor(() => {
      const text = readLog(log);
      return lineNumbers(text).length > 0 ? text : undefined;
    }, 'lines in the truncated log');
    expect(current).not.toContain('\0'); // O_APPEND: no hole where the old end was
    expect(rotated.length).toBeGreaterThan(0);
    expect(lineNumbers(current)[0]!).toBeGreaterThan(rotated.at(-1)!);
    const last = lineNumbers(current).at(-1)!;
    await waitFor(() => (lineNumbers(readLog(log)).some((n) => n > last) || lineNumbers(readFileSync(`${log}.1`, 'utf8')).some((n) => n > last) ? true : undefined), 'the process to go on logging');
    expect(existsSync(`${log}.3`)).toBe(false);
  });
});
