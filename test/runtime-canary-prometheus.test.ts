// A canary judged by a real Prometheus (Debian package) scraping the runtime's own metrics
// (router.metrics_listen): the `prometheus` provider's PromQL, with {{app}} and {{pool}} filled in,
// sees the canary's 500s under real traffic and the deploy aborts on it; the stable version
// keeps serving.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeLoad, expectClean, underLoad } from './support/load.js';
import { freePort, waitFor } from './support/net.js';
import { PROMETHEUS, PROMETHEUS_MISSING, PrometheusServer, skipWithoutPrometheus } from './support/prometheus.js';
import { RuntimeApp } from './support/runtime-app.js';

const skip = skipWithoutPrometheus('test/runtime-canary-prometheus.test.ts');

let app: RuntimeApp | undefined;
let prom: PrometheusServer | undefined;
let dir: string | undefined;
afterEach(async () => {
  await prom?.stop();
  prom = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
  const a = app;
  app = undefined;
  if (a) expect(await a.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
}, 60_000);

describe.skipIf(skip)('canary judged by Prometheus', { timeout: 180_000 }, () => {
  it('aborts a canary whose error rate, queried from Prometheus, is above max; stable keeps serving', async () => {
    if (!PROMETHEUS) throw new Error(`${PROMETHEUS_MISSING}; CI=true, so this fails instead of skipping`);
    const a = (app = await RuntimeApp.create('v1', 2));
    const metricsPort = await freePort();
    dir = mkdtempSync(join(tmpdir(), 'prom-'));
    const promPort = await freePort();
    prom = PrometheusServer.start(PROMETHEUS, dir, promPort, `127.0.0.1:${metricsPort}`);
    const sel = 'app="{{app}}",pool="{{pool}}"';
    const query = `100 * sum(rate(deployer_router_pool_requests_total{${sel},class=~"5xx|error"}[5s])) / sum(rate(deployer_router_pool_requests_total{${sel}}[5s]))`;
    const text = a
      .manifestText({
        strategy: 'canary',
        instances: 2,
        canary: '    stages: [{weight: 30, duration: 60s}]',
        extra: `analysis:
  interval: 1s
  failure_limit: 2
  min_requests: 10
  metrics:
    - { name: prom_error_rate, provider: prometheus, address: "${prom.url}", query: '${query}', max: 5 }
`,
      })
      .replace('health_interval: 200ms }', `health_interval: 200ms, metrics_listen: ${metricsPort} }`);
    writeFileSync(join(a.dir, 'deploy.yml'), text);
    const first = await a.deploy();
    expect(first.code, first.stderr).toBe(0);
    // the first sample comes some seconds after Prometheus starts: poll, never sleep a fixed time
    await waitFor(() => prom!.value('up{job="deployer"} == 1'), 'Prometheus to scrape the runtime', 60_000, 250).catch((e: Error) => {
      throw new Error(`${e.message}\nprometheus log: ${prom!.log.slice(-2000)}`);
    });

    a.setVersion('v2', { failPercent: 20 });
    const dep = await underLoad({ port: a.routerPort, connections: 6, minTotal: 200 }, () => a.deploy());
    expect(dep.result.code, dep.result.stderr).toBe(1);
    expect(dep.result.stderr).toMatch(/canary aborted: 2 failing interval\(s\) in a row .*prom_error_rate \d+(\.\d+)?% > max 5/);
    expect(dep.report.errors, describeLoad(dep.report)).toBe(0);
    const h = await a.run(['history', '--json']);
    const canary = (h.json!.history as { canary?: { outcome: string; intervals: { verdict: string; metrics: { canary: number | null; verdict: string }[] }[] } }[]).at(-1)!.canary!;
    expect(canary.outcome).toBe('aborted');
    const failing = canary.intervals.filter((i) => i.verdict === 'fail');
    expect(failing).toHaveLength(2);
    // the query's value is the error rate the canary produced (20%), give or take rate()'s window
    for (const f of failing) expect(f.metrics[0]!.canary!).toBeGreaterThan(10);

    const after = await underLoad({ port: a.routerPort, minTotal: 100 }, () => new Promise((r) => setTimeout(r, 300)));
    expectClean(after.report, 100);
    expect(Object.keys(after.report.versions)).toEqual(['v1']);
  });
});
