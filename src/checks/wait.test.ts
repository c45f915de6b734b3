import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../util/clock.js';
import type { AttemptEvent, CheckSpec, ProbeResult } from './types.js';
import { describeCheck, waitForAll, waitForCheck } from './wait.js';
import { closedPort, FakeClock } from './test-support.js';

let server: http.Server;
let base: string;
let flakyLeft = 0;
const onHang: (() => void)[] = [];
const hanging: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/flaky') {
      res.statusCode = flakyLeft-- > 0 ? 503 : 200;
      return res.end();
    }
    if (req.url === '/down') {
      res.statusCode = 503;
      return res.end();
    }
    hanging.push(res);
    for (const f of onHang.splice(0)) f();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  await new Promise((r) => server.close(r));
});

const get = (path: string): CheckSpec => ({ type: 'http', url: base + path, expectedStatus: [200] });
const policy = { timeoutMs: 10_000, intervalMs: 1000, attemptTimeoutMs: 2000 };

describe('waitForCheck', () => {
  it('retries until the check passes, sleeping the interval between attempts', async () => {
    flakyLeft = 2;
    const clock = new FakeClock();
    const events: AttemptEvent[] = [];
    const o = await waitForCheck(get('/flaky'), policy, { clock, onAttempt: (e) => events.push(e) });
    expect(o).toMatchObject({ ok: true, check: `http ${base}/flaky`, attempts: 3, detail: 'HTTP 200', durationMs: 2000 });
    expect(clock.sleeps).toEqual([1000, 1000]);
    expect(events.map((e) => [e.attempt, e.ok, e.detail])).toEqual([
      [1, false, 'HTTP 503 (expected 200)'],
      [2, false, 'HTTP 503 (expected 200)'],
      [3, true, 'HTTP 200'],
    ]);
  });

  it('gives up at the deadline, never sleeping past it, with the last detail', async () => {
    const clock = new FakeClock();
    const o = await waitForCheck(get('/down'), { ...policy, timeoutMs: 3500 }, { clock, label: 'web' });
    expect(o).toEqual({ ok: false, check: 'web', attempts: 4, detail: 'HTTP 503 (expected 200)', durationMs: 3500 });
    expect(clock.sleeps).toEqual([1000, 1000, 1000, 500]);
  });

  it('always makes at least one attempt, with its full limit', async () => {
    const clock = new FakeClock();
    const limits: number[] = [];
    const probe = async (_s: CheckSpec, ms: number): Promise<ProbeResult> => {
      limits.push(ms);
      return { ok: false, detail: 'nope', durationMs: 1 };
    };
    const o = await waitForCheck(get('/down'), { ...policy, timeoutMs: 0 }, { clock, probe });
    expect(o).toMatchObject({ ok: false, attempts: 1, detail: 'nope' });
    expect(limits).toEqual([2000]);
    expect(clock.sleeps).toEqual([]);
  });

  it('limits each attempt to the time left', async () => {
    const clock = new FakeClock();
    const limits: number[] = [];
    const probe = async (_s: CheckSpec, ms: number): Promise<ProbeResult> => {
      limits.push(ms);
      clock.advance(500);
      return { ok: false, detail: 'slow', durationMs: 500 };
    };
    const o = await waitForCheck(get('/down'), { ...policy, timeoutMs: 5000 }, { clock, probe });
    expect(limits).toEqual([2000, 2000, 2000, 500]);
    expect(o).toMatchObject({ ok: false, attempts: 4, durationMs: 5000 });
  });

  it('ends a hanging attempt at the overall deadline (real time)', async () => {
    const t0 = performance.now();
    const o = await waitForCheck(get('/hang'), { timeoutMs: 400, intervalMs: 100, attemptTimeoutMs: 5000 }, { clock: systemClock });
    expect(o).toMatchObject({ ok: false, attempts: 1, detail: 'timed out after 400 ms' });
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  it('stops with "aborted" when the signal aborts during a wait', async () => {
    const ac = new AbortController();
    const clock = new FakeClock();
    const o = await waitForCheck(get('/down'), policy, {
      clock,
      signal: ac.signal,
      onAttempt: (e) => e.attempt === 2 && ac.abort(),
    });
    expect(o).toMatchObject({ ok: false, attempts: 2, detail: 'aborted' });
  });

  it('stops with "aborted" when the signal aborts during an attempt', async () => {
    const ac = new AbortController();
    onHang.push(() => ac.abort());
    const o = await waitForCheck(get('/hang'), policy, { clock: new FakeClock(), signal: ac.signal });
    expect(o).toMatchObject({ ok: false, attempts: 1, detail: 'aborted' });
  });

  it('makes no attempt when already aborted', async () => {
    const o = await waitForCheck(get('/down'), policy, { clock: new FakeClock(), signal: AbortSignal.abort() });
    expect(o).toMatchObject({ ok: false, attempts: 0, detail: 'aborted' });
  });
});

describe('waitForAll', () => {
  it('runs the checks at the same time and passes only when all pass', async () => {
    // each probe waits until both have started: run one after the other, they would never finish
    let started = 0;
    let release!: () => void;
    const bothStarted = new Promise<void>((r) => (release = r));
    const probe = async (spec: CheckSpec): Promise<ProbeResult> => {
      if (++started === 2) release();
      await bothStarted;
      return { ok: spec.type === 'tcp', detail: spec.type, durationMs: 0 };
    };
    const r = await waitForAll(
      [
        { spec: { type: 'tcp', host: '127.0.0.1', port: 1 }, policy: { ...policy, timeoutMs: 0 } },
        { spec: { type: 'process', name: 'x' }, policy: { ...policy, timeoutMs: 0 }, label: 'proc' },
      ],
      { clock: new FakeClock(), probe },
    );
    expect(r.ok).toBe(false);
    expect(r.outcomes.map((o) => [o.check, o.ok])).toEqual([
      ['tcp 127.0.0.1:1', true],
      ['proc', false],
    ]);
  });

  it('is ok when every real check passes', async () => {
    flakyLeft = 0;
    const port = await closedPort();
    const ok = await waitForAll([{ spec: get('/flaky'), policy }], { clock: new FakeClock() });
    expect(ok.ok).toBe(true);
    const bad = await waitForAll(
      [
        { spec: get('/flaky'), policy },
        { spec: { type: 'tcp', host: '127.0.0.1', port }, policy: { ...policy, timeoutMs: 2000 } },
      ],
      { clock: new FakeClock() },
    );
    expect(bad.ok).toBe(false);
    expect(bad.outcomes[1]).toMatchObject({ ok: false, detail: 'connection refused' });
  });
});

describe('describeCheck', () => {
  it('names each kind of check', () => {
    expect(describeCheck({ type: 'http', url: 'http://127.0.0.1:3000/health', expectedStatus: [200] })).toBe('http http://127.0.0.1:3000/health');
    // shown as scheme, host and path: no user, password, query string or fragment
    expect(describeCheck({ type: 'http', url: 'https://u:secret@h/x?token=t0k#f', expectedStatus: [200] })).toBe('http https://h/x');
    expect(describeCheck({ type: 'tcp', host: '127.0.0.1', port: 5432 })).toBe('tcp 127.0.0.1:5432');
    expect(describeCheck({ type: 'tcp', host: '::1', port: 5432 })).toBe('tcp [::1]:5432');
    expect(describeCheck({ type: 'process', name: 'nginx' })).toBe('process name:nginx');
    expect(describeCheck({ type: 'process', pid: 42 })).toBe('process pid 42');
    expect(describeCheck({ type: 'command', command: 'test -f ready' })).toBe('command test -f ready');
  });
});
