// The `prometheus` analysis provider against a real Prometheus server (Debian package) scraping
// the embedded runtime's metrics endpoint (router.metrics_listen) while real requests go through
// the router: the query's value is the error rate that was sent, and a query without data is
// inconclusive.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CanaryAnalysis, summarize } from '../src/analysis/analysis.js';
import { runShellCommand } from '../src/analysis/command-provider.js';
import type { RouterSource } from '../src/analysis/types.js';
import { analysisSchema } from '../src/manifest/schema/analysis.js';
import type { AppMetrics, PoolTraffic } from '../src/runtime/model.js';
import { runtimePaths } from '../src/runtime/paths.js';
import { callUnix } from '../src/runtime/unix-json.js';
import { freePort, get, waitFor } from './support/net.js';
import { PROMETHEUS, PROMETHEUS_MISSING as MISSING, PrometheusServer, skipWithoutPrometheus } from './support/prometheus.js';

const skip = skipWithoutPrometheus('test/analysis-prometheus.test.ts');
import { RuntimeApp } from './support/runtime-app.js';

/** The runtime's per-pool counters as a RouterSource (its JSON metrics; no latency samples there). */
function routerSource(home: string, app: string): RouterSource {
  return {
    async snapshot() {
      const m = await callUnix<{ apps: AppMetrics[] }>(runtimePaths(home).control, 'GET', '/metrics', undefined, { timeoutMs: 10_000 });
      const pools = m.apps.find((a) => a.app === app)?.pools ?? {};
      const out: Record<string, PoolTraffic> = {};
      for (const [name, p] of Object.entries(pools)) out[name] = { requests: p.requests, latency: p.latency, samples: { seq: 0, latencyMs: [] } };
      return out;
    },
  };
}

/** `count` GETs of `path` through the router, `concurrency` at a time: how many got each status. */
async function drive(port: number, path: string, count: number, concurrency = 8): Promise<Record<number, number>> {
  const statuses: Record<number, number> = {};
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next++;
        const r = await get(port, path, 10_000);
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
      }
    }),
  );
  return statuses;
}

describe.skipIf(skip)('prometheus provider against a real Prometheus scraping the runtime', { timeout: 180_000 }, () => {
  let app: RuntimeApp | undefined;
  let prom: PrometheusServer | undefined;
  let dir: string | undefined;

  beforeAll(async () => {
    if (!PROMETHEUS) throw new Error(`${MISSING}; CI=true, so this fails instead of skipping`);
    const a = (app = await RuntimeApp.create('v1', 1));
    // SMOKE_FAIL: GET / answers 500; GET /slow?ms=0 still answers 200
    a.setVersion('v1', { smokeFail: true });
    const metricsPort = await freePort();
    const manifest = a.manifestText({ strategy: 'recreate', instances: 1 }).replace('health_interval: 200ms }', `health_interval: 200ms, metrics_listen: ${metricsPort} }`);
    expect(manifest).toContain(`metrics_listen: ${metricsPort}`);
    writeFileSync(join(a.dir, 'deploy.yml'), manifest);
    dir = mkdtempSync(join(tmpdir(), 'prom-'));
    // Prometheus first, so its start-up overlaps the deploy
    prom = PrometheusServer.start(PROMETHEUS, dir, await freePort(), `127.0.0.1:${metricsPort}`);
    const dep = await a.deploy();
    expect(dep.code, dep.stderr).toBe(0);
  }, 120_000);

  afterAll(async () => {
    await prom?.stop();
    if (app) expect(await app.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('measures the error rate that went through the router; an empty result is inconclusive', async () => {
    const a = app!;
    const p = prom!;
    // the first sample comes some seconds after the start: poll, never sleep a fixed time
    await waitFor(() => p.value('up{job="deployer"} == 1'), 'Prometheus to scrape the runtime', 60_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}\nprometheus log: ${p.log.slice(-2000)}`);
    });
    const inst = (await a.view()).instances[0]!;
    const sel = `app="{{app}}",pool="{{pool}}"`;
    const cfg = analysisSchema.parse({
      min_requests: 100,
      metrics: [
        { name: 'error_rate', provider: 'router', max: 50 },
        { name: 'prom_error_rate', provider: 'prometheus', address: p.url, query: `sum(deployer_router_requests_total{${sel},class=~"5xx|error"}) / sum(deployer_router_requests_total{${sel}}) * 100`, max: 50 },
        { name: 'prom_strict_error_rate', provider: 'prometheus', address: `${p.url}/`, query: `100 * sum(deployer_router_requests_total{${sel},class="5xx"}) / sum(deployer_router_requests_total{${sel}})`, max: 10 },
        { name: 'prom_failures', provider: 'prometheus', address: p.url, query: `sum(max_over_time(deployer_router_requests_total{${sel},class="5xx"}[{{interval}}]))`, max: 1000 },
        { name: 'prom_scalar', provider: 'prometheus', address: p.url, query: `scalar(sum(deployer_router_requests_total{${sel}}))`, min: 1 },
        { name: 'prom_empty', provider: 'prometheus', address: p.url, query: 'deployer_router_requests_total{app="{{app}}",pool="no-such-pool"}', max: 1 },
        { name: 'prom_bad', provider: 'prometheus', address: p.url, query: 'sum(deployer_router_requests_total', max: 1 },
      ],
    });
    const analysis = new CanaryAnalysis(cfg, { app: a.name, canary: { pool: inst.pool, release: inst.release }, baseline: null }, {
      router: routerSource(a.home, a.name),
      fetch,
      runCommand: runShellCommand,
      now: () => Date.now(),
      env: {},
    });
    await analysis.begin();

    expect(await drive(a.routerPort, '/slow?ms=0', 300)).toEqual({ 200: 300 });
    expect(await drive(a.routerPort, '/', 100)).toEqual({ 500: 100 });
    const total = `sum(deployer_router_requests_total{app="${a.name}",pool="${inst.pool}"})`;
    await waitFor(async () => ((await p.value(total)) === 400 ? true : undefined), 'Prometheus to see the 400 requests', 30_000, 250);

    const r = await analysis.evaluate();
    const m = Object.fromEntries(r.metrics.map((x) => [x.name, x]));
    const why = summarize(r);
    expect(r.canaryRequests, why).toBe(400);
    expect(m.error_rate, why).toMatchObject({ canary: 25, verdict: 'pass' });
    expect(m.prom_error_rate!.canary, why).toBeCloseTo(25, 6);
    expect(m.prom_error_rate, why).toMatchObject({ verdict: 'pass', reason: 'prom_error_rate 25% ≤ max 50' });
    expect(m.prom_strict_error_rate, why).toMatchObject({ canary: 25, verdict: 'fail', reason: 'prom_strict_error_rate 25% > max 10' });
    expect(m.prom_failures, why).toMatchObject({ canary: 100, verdict: 'pass' });
    expect(m.prom_scalar, why).toMatchObject({ canary: 400, verdict: 'pass' });
    expect(m.prom_empty, why).toMatchObject({ canary: null, verdict: 'inconclusive', reason: `prom_empty: prometheus ${p.url}: no data (the query returned an empty vector)` });
    expect(m.prom_bad, why).toMatchObject({ canary: null, verdict: 'inconclusive', reason: expect.stringMatching(/^prom_bad: prometheus .*: prometheus error \(bad_data\): .*parse error/) });
    expect(r.verdict).toBe('fail');

    // no traffic in the next interval: the gate makes every metric inconclusive, values still shown
    const quiet = await analysis.evaluate();
    expect(quiet.canaryRequests).toBe(0);
    expect(quiet.verdict).toBe('inconclusive');
    expect(quiet.metrics.find((x) => x.name === 'prom_error_rate')).toMatchObject({ canary: 25, verdict: 'inconclusive', reason: 'prom_error_rate 25%: 0 canary requests < min_requests 100' });
  });
});
