import { z } from 'zod';
import { duration, int, shellCommand, text } from './fields.js';

/** Metrics the `router` provider computes from the embedded router's per-pool counters. */
import { ROUTER_METRICS } from '../router-metrics.js';

export { ROUTER_METRICS };

const metric = z.strictObject({
  name: text(`Metric name. With provider router: ${ROUTER_METRICS.join(', ')}. Otherwise a label of your choice.`, 128),
  provider: z.enum(['router', 'prometheus', 'http', 'command']).default('router').describe('Where the value comes from.'),
  query: text('PromQL query (prometheus); {{app}}, {{pool}}, {{release}} and {{interval}} (e.g. `10s`) are filled in.', 8192).optional(),
  address: text('Prometheus base URL (prometheus), e.g. http://127.0.0.1:9090.', 1024).optional(),
  url: text('URL returning JSON (http); {{app}}, {{pool}}, {{release}}, {{interval}} are filled in.', 2048).optional(),
  path: text('Path into the JSON document, e.g. `data.error_rate` or `pools[0].p99` (http).', 512).optional(),
  headers: z.record(z.string().min(1).max(256), z.string().max(8192)).optional().describe('Request headers (http).'),
  command: shellCommand('Command printing a number on its last line of stdout (command). Run with DEPLOY_APP, DEPLOY_POOL, DEPLOY_RELEASE and DEPLOY_ANALYSIS_INTERVAL_MS set.').optional(),
  timeout: duration('How long one measurement may take (prometheus, http, command).').prefault('10s'),
  max: z.number().optional().describe('Fails when the canary value is above this.'),
  min: z.number().optional().describe('Fails when the canary value is below this.'),
  max_ratio_to_baseline: z
    .number()
    .positive()
    .optional()
    .describe('Fails when canary / baseline (the stable pool, same interval) is above this. A baseline of 0 passes only a canary of 0.'),
  judge: z
    .enum(['threshold', 'mann-whitney'])
    .default('threshold')
    .describe('threshold: max/min/max_ratio_to_baseline on the value. mann-whitney: compares the canary and baseline latency samples (router latency metrics).'),
  confidence: z.number().gt(0).lt(1).default(0.95).describe('mann-whitney: confidence that the canary is slower before it fails.'),
  tolerance: z.number().min(0).max(100).default(0.25).describe('mann-whitney: the canary median may exceed the baseline median by this fraction of it before it can fail.'),
  min_effect: z.number().min(0).default(1).describe('mann-whitney: and by at least this much (in the metric unit, ms).'),
  min_requests: int('Overrides analysis.min_requests for this metric.', 0, 100_000_000).optional(),
});

export const analysisSchema = z
  .strictObject({
    interval: duration('Time between analyses.').prefault('10s'),
    failure_limit: int('Consecutive failing intervals that abort the canary.', 1, 1000).default(3),
    min_requests: int('Canary requests an interval needs to count; fewer make it inconclusive (never a pass).', 0, 100_000_000).default(50),
    on_inconclusive: z
      .enum(['pause', 'abort', 'proceed'])
      .default('pause')
      .describe('When a stage ends without a passing interval: pause (wait for a passing interval, `deployer promote` or `abort`), abort, or proceed anyway.'),
    metrics: z.array(metric).max(50).default([]),
  })
  .describe('Canary analysis, evaluated each interval.');

export type AnalysisConfig = z.output<typeof analysisSchema>;
export type MetricConfig = AnalysisConfig['metrics'][number];
