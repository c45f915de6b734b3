import { z } from 'zod';
import { duration, int, shellCommand, text } from './fields.js';

const metric = z.strictObject({
  name: text('Metric name: error_rate, latency_p50_ms, latency_p90_ms, latency_p99_ms, request_count, or your own.', 128),
  provider: z.enum(['router', 'prometheus', 'http', 'command']).default('router').describe('Where the value comes from.'),
  query: text('PromQL query (prometheus); {{app}}, {{pool}}, {{release}} are filled in.', 8192).optional(),
  address: text('Prometheus base URL (prometheus).', 1024).optional(),
  url: text('URL returning JSON (http).', 2048).optional(),
  path: text('Path into the JSON document, e.g. `data.error_rate` (http).', 512).optional(),
  command: shellCommand('Command printing a number on stdout (command).').optional(),
  max: z.number().optional().describe('Fails when the value is above this.'),
  min: z.number().optional().describe('Fails when the value is below this.'),
  max_ratio_to_baseline: z.number().positive().optional().describe('Fails when canary / stable over the same interval is above this.'),
  judge: z.enum(['threshold', 'mann-whitney']).default('threshold').describe('How samples are judged.'),
  confidence: z.number().gt(0).lt(1).default(0.95).describe('Confidence for the mann-whitney judge.'),
});

export const analysisSchema = z
  .strictObject({
    interval: duration('Time between analyses.').prefault('10s'),
    failure_limit: int('Consecutive failing intervals that abort the canary.', 1, 1000).default(3),
    min_requests: int('Fewer requests in an interval make it inconclusive (never a pass).', 0, 100_000_000).default(50),
    metrics: z.array(metric).max(50).default([]),
  })
  .describe('Canary analysis, evaluated each interval.');

export type AnalysisConfig = z.output<typeof analysisSchema>;
