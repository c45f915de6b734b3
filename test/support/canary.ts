// What the canary tests share: a workspace with v1 live, the analysis section, and the canary's
// record in history and status as the CLI shows them (--json).
import { afterEach, expect } from 'vitest';
import { RuntimeApp, type ManifestOptions } from './runtime-app.js';

export interface Interval {
  index: number;
  verdict: string;
  canaryRequests: number;
  metrics: { name: string; judge: string; verdict: string; canary: number | null; baseline: number | null; reason: string }[];
}

export interface CanaryRecord {
  outcome: string;
  reason?: string;
  stages_done: number;
  intervals: Interval[];
}

/**
 * A canary aborted on two failing intervals whose error_rate judged it: the canary over 10%,
 * the baseline at 0 (the release answers 500 on a share of its requests, the live one never).
 */
export function expectFailedOnErrorRate(c: CanaryRecord): void {
  const judged = c.intervals.filter((i) => i.verdict !== 'inconclusive');
  expect(judged.map((i) => i.verdict)).toEqual(['fail', 'fail']);
  const errorRate = judged[0]!.metrics.find((m) => m.name === 'error_rate')!;
  expect(errorRate.verdict).toBe('fail');
  expect(errorRate.canary!).toBeGreaterThan(10);
  expect(errorRate.baseline).toBe(0);
}

export interface CanaryStatusJson {
  deploy_id: string;
  pid: number;
  phase: string;
  stage: { index: number; paused: string | null; weight: number } | null;
  weights: Record<string, number>;
  last: Interval[];
  running: boolean;
}

export const analysis = (o: { interval: string; failureLimit: number; minRequests: number; metrics: string[]; onInconclusive?: string }) => `analysis:
  interval: ${o.interval}
  failure_limit: ${o.failureLimit}
  min_requests: ${o.minRequests}
${o.onInconclusive ? `  on_inconclusive: ${o.onInconclusive}\n` : ''}  metrics:
${o.metrics.map((m) => `    - ${m}`).join('\n')}
`;

/**
 * Registers the cleanup of the test's workspace (nothing it started may be left running) and
 * returns `liveV1`: a workspace with `v1` live (2 instances in blue) and the canary manifest written.
 */
export function useCanaryApp(): (canary: string, extra: string, o?: ManifestOptions) => Promise<RuntimeApp> {
  let app: RuntimeApp | undefined;
  afterEach(async () => {
    const a = app;
    app = undefined;
    if (a) expect(await a.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
  });
  return async (canary, extra, o = {}) => {
    const a = (app = await RuntimeApp.create('v1', 2));
    a.writeManifest({ strategy: 'canary', instances: 2, canary, extra, ...o });
    const first = await a.deploy();
    expect(first.code, first.stderr).toBe(0);
    // nothing to compare with yet: the first deploy goes in whole
    expect(first.json).toMatchObject({ strategy: 'canary', result: 'succeeded' });
    await a.waitServing('v1');
    return a;
  };
}

/** The canary record of the newest history entry. */
export async function lastCanary(a: RuntimeApp): Promise<CanaryRecord> {
  const h = await a.run(['history', '--json']);
  expect(h.code, h.stderr).toBe(0);
  const entries = h.json!.history as { canary?: CanaryRecord }[];
  const c = entries.at(-1)!.canary;
  expect(c, JSON.stringify(entries.at(-1))).toBeDefined();
  return c!;
}

/** The canary in progress as `deployer status --json` shows it, or null. */
export async function canaryStatus(a: RuntimeApp): Promise<CanaryStatusJson | null> {
  return ((await a.status()).canary as CanaryStatusJson | null) ?? null;
}
