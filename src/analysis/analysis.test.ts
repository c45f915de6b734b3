import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../util/seeded-random.js';
import { CanaryAnalysis, intervalVerdict, summarize } from './analysis.js';
import { analysisConfig, httpServer, Pool, sendJson, type TestServer } from './test-support.js';
import type { AnalysisDeps, CommandOptions, MetricResult } from './types.js';

/** The embedded router as the analysis sees it: pools, a clock that traffic moves, and failures on demand. */
class World {
  t = Date.UTC(2024, 0, 1, 12, 0, 0);
  pools: Record<string, Pool> = { stable: new Pool(), canary: new Pool() };
  down: string | null = null;
  readonly commands: { command: string; opts: CommandOptions }[] = [];
  runCommand: AnalysisDeps['runCommand'] = () => Promise.resolve({ code: 0, stdout: '0\n', stderr: '' });
  deps(): AnalysisDeps {
    return {
      router: {
        snapshot: () => (this.down ? Promise.reject(new Error(this.down)) : Promise.resolve(Object.fromEntries(Object.entries(this.pools).map(([k, p]) => [k, p.snapshot()])))),
      },
      fetch,
      runCommand: (command, opts) => {
        this.commands.push({ command, opts });
        return this.runCommand(command, opts);
      },
      now: () => this.t,
      env: { APP_ENV: 'test' },
      cwd: '/srv/releases/r2',
    };
  }
  /** `n` requests on a pool: every `failEvery`-th answers 500; latencies `baseMs` plus a seeded exponential of mean 4 ms */
  traffic(pool: string, n: number, o: { failEvery?: number; baseMs?: number; seed?: number } = {}): void {
    const r = seededRandom(o.seed ?? 1);
    for (let i = 1; i <= n; i++) this.pools[pool]!.record(o.failEvery && i % o.failEvery === 0 ? 500 : 200, Math.round(((o.baseMs ?? 2) + 4 * -Math.log(1 - r())) * 10) / 10);
  }
}

const subjects = (baseline = true) => ({ app: 'shop', canary: { pool: 'canary', release: 'r2' }, baseline: baseline ? { pool: 'stable', release: 'r1' } : null });
const byName = (ms: MetricResult[]) => Object.fromEntries(ms.map((m) => [m.name, m]));

describe('CanaryAnalysis', () => {
  it('fails an interval where the canary answers 500 on 20% of its requests, and says why', async () => {
    const w = new World();
    const cfg = analysisConfig({
      min_requests: 50,
      metrics: [
        { name: 'error_rate', max: 1, max_ratio_to_baseline: 2 },
        { name: 'latency_p99_ms', max: 500 },
        { name: 'request_rate', min: 1 },
      ],
    });
    const a = new CanaryAnalysis(cfg, subjects(), w.deps());
    w.traffic('stable', 400); // before the interval: not counted
    await a.begin();
    w.traffic('canary', 200, { failEvery: 5 });
    w.traffic('stable', 1800, { seed: 2 });
    w.t += 10_000;
    const r = await a.evaluate();
    expect(r).toMatchObject({ index: 1, at: '2024-01-01T12:00:10.000Z', durationMs: 10_000, canaryRequests: 200, baselineRequests: 1800, verdict: 'fail' });
    const m = byName(r.metrics);
    expect(m.error_rate).toEqual({ name: 'error_rate', provider: 'router', judge: 'threshold', canary: 20, baseline: 0, verdict: 'fail', reason: 'error_rate 20% > max 1, with baseline 0 (above a baseline of 0 fails max_ratio_to_baseline 2)' });
    expect(m.latency_p99_ms).toMatchObject({ verdict: 'pass', reason: expect.stringMatching(/^latency_p99_ms \d+(\.\d+)? ms ≤ max 500$/) });
    expect(m.request_rate).toMatchObject({ verdict: 'pass', canary: 20, baseline: 180, reason: 'request_rate 20/s ≥ min 1' });
    expect(summarize(r)).toMatch(/^interval 1 fail \(10 s; canary 200 requests, baseline 1800\): error_rate 20% > max 1, .*; latency_p99_ms .* ≤ max 500; request_rate 20\/s ≥ min 1$/);

    // the next interval starts where this one ended
    w.traffic('canary', 100, { seed: 3 });
    w.traffic('stable', 100, { seed: 4 });
    w.t += 5000;
    const next = await a.evaluate();
    expect(next).toMatchObject({ index: 2, durationMs: 5000, canaryRequests: 100, baselineRequests: 100, verdict: 'pass' });
    expect(byName(next.metrics).error_rate).toMatchObject({ canary: 0, baseline: 0, reason: 'error_rate 0% ≤ max 1, not above baseline 0' });
  });

  it('is inconclusive, never a pass, below min_requests (a metric may set its own)', async () => {
    const w = new World();
    const cfg = analysisConfig({ min_requests: 50, metrics: [{ name: 'error_rate', max: 1 }, { name: 'request_count', min: 5, min_requests: 10 }, { name: 'latency_p50_ms', max: 1 }] });
    const a = new CanaryAnalysis(cfg, subjects(), w.deps());
    await a.begin();
    w.traffic('canary', 12);
    w.traffic('stable', 500);
    w.t += 10_000;
    const r = await a.evaluate();
    expect(r.verdict).toBe('inconclusive');
    const m = byName(r.metrics);
    expect(m.error_rate).toMatchObject({ verdict: 'inconclusive', canary: 0, reason: 'error_rate 0%: 12 canary requests < min_requests 50' });
    expect(m.request_count).toMatchObject({ verdict: 'pass', canary: 12 });
    // a failing value below the gate does not fail either
    expect(m.latency_p50_ms).toMatchObject({ verdict: 'inconclusive', reason: expect.stringMatching(/^latency_p50_ms [\d.]+ ms: 12 canary requests < min_requests 50$/) });
  });

  it('without metrics, passes an interval only with enough canary requests', async () => {
    const w = new World();
    const a = new CanaryAnalysis(analysisConfig({ min_requests: 50 }), subjects(), w.deps());
    await a.begin();
    w.traffic('canary', 49);
    w.t += 1000;
    expect(await a.evaluate()).toMatchObject({ verdict: 'inconclusive', metrics: [] });
    w.traffic('canary', 50);
    w.t += 1000;
    const r = await a.evaluate();
    expect(r).toMatchObject({ verdict: 'pass', canaryRequests: 50 });
    expect(summarize(r)).toBe('interval 2 pass (1 s; canary 50 requests, baseline 0): no metrics');
    expect(intervalVerdict([], null, 0)).toBe('inconclusive');
  });

  it('skips ratio checks without a baseline and cannot make them with too little baseline traffic', async () => {
    const w = new World();
    const cfg = analysisConfig({ min_requests: 20, metrics: [{ name: 'error_rate', max: 50, max_ratio_to_baseline: 2 }] });
    const alone = new CanaryAnalysis(cfg, subjects(false), w.deps());
    const paired = new CanaryAnalysis(cfg, subjects(), w.deps());
    await alone.begin();
    await paired.begin();
    w.traffic('canary', 100, { failEvery: 10 });
    w.traffic('stable', 5);
    w.t += 10_000;
    const a = await alone.evaluate();
    expect(a).toMatchObject({ baselineRequests: null, verdict: 'pass' });
    expect(a.metrics[0]).toMatchObject({ canary: 10, baseline: null, reason: 'error_rate 10% ≤ max 50' });
    const p = await paired.evaluate();
    expect(p).toMatchObject({ baselineRequests: 5, verdict: 'inconclusive' });
    expect(p.metrics[0]!.reason).toBe('error_rate 10%: no ratio to baseline: baseline 5 requests < min_requests 20');
  });

  it('judges latency distributions with mann-whitney', async () => {
    const w = new World();
    const cfg = analysisConfig({ min_requests: 50, metrics: [{ name: 'latency_p99_ms', judge: 'mann-whitney', confidence: 0.99 }] });
    const a = new CanaryAnalysis(cfg, subjects(), w.deps());
    await a.begin();
    w.traffic('canary', 300, { baseMs: 302, seed: 5 }); // 300 ms added
    w.traffic('stable', 3000, { seed: 6 });
    w.t += 10_000;
    const slow = (await a.evaluate()).metrics[0]!;
    expect(slow).toMatchObject({ verdict: 'fail', judge: 'mann-whitney', samples: { canary: 300, baseline: 2000 } });
    expect(slow.p).toBeLessThan(1e-10);
    expect(slow.reason).toMatch(/^latency_p99_ms 3\d\d ms vs baseline \d+(\.\d+)? ms: mann-whitney p=\d\.\de-\d+ < 0\.01, median \+30\d ms$/);

    w.traffic('canary', 300, { seed: 7 });
    w.traffic('stable', 3000, { seed: 8 });
    w.t += 10_000;
    const same = (await a.evaluate()).metrics[0]!;
    expect(same.verdict).toBe('pass');
    expect(same.p).toBeGreaterThan(0.01);

    // significant, but a shift of 0.5 ms is below min_effect (1 ms) and tolerance (25% of the median)
    w.traffic('canary', 3000, { baseMs: 2.5, seed: 9 });
    w.traffic('stable', 3000, { seed: 10 });
    w.t += 10_000;
    const small = (await a.evaluate()).metrics[0]!;
    expect(small.p).toBeLessThan(0.01);
    expect(small).toMatchObject({ verdict: 'pass', reason: expect.stringMatching(/< 0\.01 but median \+0\.\d+ ms ≤ [\d.]+ ms allowed$/) });
  });

  it('leaves baseline comparisons out while the baseline takes no traffic by design (a stage at 100%)', async () => {
    const w = new World();
    const cfg = analysisConfig({ min_requests: 50, metrics: [{ name: 'error_rate', max: 1, max_ratio_to_baseline: 2 }, { name: 'latency_p50_ms', judge: 'mann-whitney' }] });
    const a = new CanaryAnalysis(cfg, subjects(), w.deps());
    a.setBaselineActive(false);
    await a.begin();
    w.traffic('canary', 200);
    w.t += 10_000;
    const r = await a.evaluate();
    expect(r).toMatchObject({ canaryRequests: 200, baselineRequests: null, verdict: 'pass' });
    const m = byName(r.metrics);
    expect(m.error_rate).toMatchObject({ verdict: 'pass', baseline: null, reason: 'error_rate 0% ≤ max 1, (ratio not compared: the baseline takes no traffic at this weight)' });
    expect(m.latency_p50_ms).toMatchObject({ verdict: 'pass', reason: expect.stringMatching(/^latency_p50_ms [\d.]+ ms: not compared: the baseline takes no traffic at this weight$/) });
    // the canary's own limits still apply, and so does its request gate
    w.traffic('canary', 100, { failEvery: 5 });
    w.t += 10_000;
    expect((await a.evaluate()).verdict).toBe('fail');
    w.traffic('canary', 10);
    w.t += 10_000;
    expect((await a.evaluate()).verdict).toBe('inconclusive');
  });

  it('is inconclusive with mann-whitney when it cannot compare', async () => {
    const w = new World();
    const cfg = analysisConfig({
      min_requests: 5,
      metrics: [
        { name: 'latency_p50_ms', judge: 'mann-whitney' },
        { name: 'error_rate', judge: 'mann-whitney' },
      ],
    });
    const noBaseline = new CanaryAnalysis(cfg, subjects(false), w.deps());
    const paired = new CanaryAnalysis(cfg, subjects(), w.deps());
    await noBaseline.begin();
    await paired.begin();
    w.traffic('canary', 7);
    w.traffic('stable', 100);
    w.t += 1000;
    const [lat, err] = (await noBaseline.evaluate()).metrics;
    expect(lat).toMatchObject({ verdict: 'inconclusive', reason: expect.stringMatching(/: no baseline pool to compare with$/) });
    expect(err).toMatchObject({ verdict: 'inconclusive', reason: expect.stringContaining('use it with provider router and a latency_* metric (this is router error_rate)') });
    const few = (await paired.evaluate()).metrics[0]!;
    expect(few).toMatchObject({ verdict: 'inconclusive', samples: { canary: 7, baseline: 100 }, reason: expect.stringContaining('7 canary and 100 baseline latency samples (mann-whitney needs 8 each)') });
  });

  it('never rejects when the router cannot be read; the next interval covers what it missed', async () => {
    const w = new World();
    const cfg = analysisConfig({ min_requests: 10, metrics: [{ name: 'error_rate', max: 1 }] });
    const a = new CanaryAnalysis(cfg, subjects(), w.deps());
    w.down = 'connect ENOENT /run/ctl.sock';
    await a.begin();
    w.down = null;
    w.t += 1000;
    const first = await a.evaluate();
    expect(first).toMatchObject({ verdict: 'inconclusive', canaryRequests: 0, baselineRequests: null });
    expect(first.metrics[0]!.reason).toBe('error_rate: router counters unreadable at the start of the interval: connect ENOENT /run/ctl.sock');
    w.traffic('canary', 30, { failEvery: 3 });
    w.t += 1000;
    w.down = 'timed out';
    const second = await a.evaluate();
    expect(second.metrics[0]!.reason).toBe('error_rate: router counters unreadable: timed out');
    w.down = null;
    w.traffic('canary', 30, { failEvery: 3, seed: 2 });
    w.t += 1000;
    const third = await a.evaluate();
    expect(third).toMatchObject({ index: 3, durationMs: 2000, canaryRequests: 60, verdict: 'fail' });
    await expect(new CanaryAnalysis(cfg, subjects(), w.deps()).evaluate()).rejects.toThrow(/before begin/);
  });

  describe('with external providers', () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await httpServer((req, res) => {
        const pool = new URL(req.url ?? '/', 'http://x').searchParams.get('pool');
        sendJson(res, 200, { value: pool === 'canary' ? 3 : 1 });
      });
    });
    afterAll(() => server.close());

    it('measures canary and baseline, in parallel, with the interval', async () => {
      const w = new World();
      const cfg = analysisConfig({
        min_requests: 1,
        metrics: [
          { name: 'errors_http', provider: 'http', url: `${server.url}/m?pool={{pool}}&i={{interval}}`, path: 'value', max_ratio_to_baseline: 2 },
          { name: 'queue', provider: 'command', command: 'queue-depth', max: 10, max_ratio_to_baseline: 1.5 },
          { name: 'only_canary', provider: 'command', command: 'other', max: 10 },
        ],
      });
      // both commands of the ratio metric must be running at once for either to answer
      const waiting: (() => void)[] = [];
      w.runCommand = (command, opts) =>
        command === 'other'
          ? Promise.resolve({ code: 0, stdout: '4\n', stderr: '' })
          : new Promise((resolve) => {
              waiting.push(() => resolve({ code: 0, stdout: opts.env.DEPLOY_POOL === 'canary' ? '6\n' : '5\n', stderr: '' }));
              if (waiting.length === 2) for (const go of waiting) go();
            });
      const a = new CanaryAnalysis(cfg, subjects(), w.deps());
      await a.begin();
      w.traffic('canary', 10);
      w.traffic('stable', 10);
      w.t += 30_000;
      const r = await a.evaluate();
      const m = byName(r.metrics);
      expect(m.errors_http).toMatchObject({ canary: 3, baseline: 1, verdict: 'fail', reason: 'errors_http 3 is 3x baseline 1 > max_ratio_to_baseline 2' });
      expect(m.queue).toMatchObject({ canary: 6, baseline: 5, verdict: 'pass', reason: 'queue 6 ≤ max 10, 1.2x baseline 5 ≤ 1.5' });
      expect(m.only_canary).toMatchObject({ canary: 4, baseline: null, verdict: 'pass' });
      expect(server.requests.map((q) => q.url).sort()).toEqual(['/m?pool=canary&i=30s', '/m?pool=stable&i=30s']);
      expect(w.commands.filter((c) => c.command === 'other')).toHaveLength(1); // no baseline measurement without a ratio
      expect(w.commands.find((c) => c.command === 'queue-depth' && c.opts.env.DEPLOY_POOL === 'stable')!.opts).toEqual({
        env: { APP_ENV: 'test', DEPLOY_APP: 'shop', DEPLOY_POOL: 'stable', DEPLOY_RELEASE: 'r1', DEPLOY_ANALYSIS_INTERVAL_MS: '30000' },
        timeoutMs: 10_000,
        cwd: '/srv/releases/r2',
      });
      expect(r.verdict).toBe('fail');
    });

    it('turns a provider that throws into an inconclusive metric', async () => {
      const w = new World();
      w.runCommand = () => Promise.reject(new Error('spawn EMFILE'));
      const a = new CanaryAnalysis(analysisConfig({ min_requests: 0, metrics: [{ name: 'c', provider: 'command', command: 'x', max: 1 }] }), subjects(), w.deps());
      await a.begin();
      const r = await a.evaluate();
      expect(r).toMatchObject({ verdict: 'inconclusive', metrics: [{ verdict: 'inconclusive', canary: null, reason: 'c: command could not run: spawn EMFILE' }] });
    });
  });
});
