import { z } from 'zod';
import { checkListSchema } from './checks.js';
import { countOrPercent, duration, int, percent, releasePath, text } from './fields.js';

const rolling = z
  .strictObject({
    batch_size: countOrPercent('Instances updated at once (a number or a percentage).', 1).default(1),
    batch_delay: duration('Pause between batches.').prefault('10s'),
    max_unavailable: countOrPercent('Most instances out of service at any time.', 0).default(1),
    max_failures: countOrPercent('Failed instances tolerated before the deploy stops and rolls back.', 0).default(1),
    drain_timeout: duration('How long to wait for in-flight requests when an instance leaves the router.').prefault('30s'),
  })
  .describe('Rolling strategy settings.');

const blueGreen = z
  .strictObject({
    smoke_tests: checkListSchema.default([]).describe('Checks run against the idle slot before traffic moves to it.'),
    warmup_requests: int('Requests sent to the idle slot before the switch.', 0, 1_000_000).default(0),
    scale_down_delay: duration('How long the old slot keeps running after the switch, for an instant rollback.').prefault('30s'),
  })
  .describe('Blue-green strategy settings.');

const stage = z.union([
  z.strictObject({
    weight: percent('Share of traffic (percent) sent to the canary in this stage.'),
    duration: duration('How long the stage lasts (analysis runs meanwhile).').optional(),
  }),
  z.strictObject({
    pause: z
      .union([z.literal('manual'), duration('pause length')])
      .describe('`manual` waits for `deployer promote`/`abort`; a duration waits that long.'),
  }),
]);

const headerRoute = z
  .strictObject({
    header: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, { message: 'expected an HTTP header name' })
      .optional()
      .describe('Requests carrying this header go to the canary.'),
    cookie: z
      .string()
      .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, { message: 'expected a cookie name' })
      .optional()
      .describe('Requests carrying this cookie go to the canary.'),
    value: text('Only when the header or cookie has exactly this value (default: any value).', 1024).optional(),
  })
  .describe('Send matching requests to the canary whatever the weights (testers, A/B splits), from its start until promotion or abort.');

const canary = z
  .strictObject({
    initial_percent: percent('Seed form: first canary weight (default 5).').optional(),
    step_percent: percent('Seed form: weight added each step (default 10).').optional(),
    step_interval: duration('Seed form: how long each weight lasts (default 60s).').optional(),
    final_percent: percent('Seed form: the walk stops below this weight and promotes (default 100).').optional(),
    stages: z.array(stage).min(1).max(100).optional().describe('Stage list: `{weight, duration}`, `{pause: manual}` or `{pause: 5m}`. Promotion follows the last stage.'),
    auto_promote: z.boolean().default(true).describe('Promote after the last stage; false waits for `deployer promote` first.'),
    instances: int('Canary instances (default service.instances). Fewer are scaled up to service.instances before promotion.', 1, 100).optional(),
    scale_down_delay: duration('How long the old version keeps running after promotion, for an instant rollback.').prefault('30s'),
    header_route: headerRoute.optional(),
  })
  .describe('Canary strategy settings: either the seed form (initial/step/interval/final) or `stages`. Without either: the seed defaults 5% + 10% every 60s.');

export const deploymentSchema = z
  .strictObject({
    strategy: z.enum(['recreate', 'rolling', 'blue-green', 'canary']).default('recreate').describe('How a new release replaces the live one.'),
    app_root: text('Directory holding releases/, shared/ and current on each host. Default for local: $DEPLOYER_HOME/apps/<name>.', 1024).optional(),
    keep_releases: int('Releases kept by cleanup (the live one, the rollback point and protected ones are always kept).', 1, 1000).default(5),
    shared_dirs: z.array(releasePath('directory')).max(200).default([]).describe('Directories kept in shared/ and symlinked into every release.'),
    shared_files: z.array(releasePath('file')).max(200).default([]).describe('Files kept in shared/ and symlinked into every release.'),
    auto_rollback: z.boolean().default(true).describe('Go back to the previous release when a check after activation fails.'),
    keep_failed_releases: z.boolean().default(false).describe('Keep a release that failed after activation as `releases/<id>.failed` for debugging, instead of removing it.'),
    link_unchanged: z
      .boolean()
      .default(true)
      .describe('Hard-link files unchanged since the previous release instead of copying them (build steps must not modify files in place).'),
    rolling: rolling.optional(),
    blue_green: blueGreen.optional(),
    canary: canary.optional(),
  })
  .describe('How releases are laid out and activated.');

export type DeploymentConfig = z.output<typeof deploymentSchema>;
