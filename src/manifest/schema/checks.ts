import { z } from 'zod';
import { duration, int, shellCommand, text } from './fields.js';

const checkObject = z.strictObject({
  name: text('A label for the check in output.', 200).optional(),
  type: z
    .enum(['http', 'tcp', 'process', 'command'])
    .optional()
    .describe('Check type; detected from the scheme of `url`/`target` (http://, https://, tcp://, pid://, cmd://) when omitted.'),
  url: text('URL to request (type http). Templates: {port}, {host}, {release}, {pool}.').optional(),
  target: text('`host:port` (tcp), a pid or `name:NAME` (process), or any seed-style target with a scheme.').optional(),
  command: shellCommand('Shell command that must exit 0 (type command); runs in the release directory.').optional(),
  expected_status: z
    .union([int('status', 100, 599), z.array(int('status', 100, 599)).min(1).max(50)])
    .default(200)
    .describe('HTTP status (or list of statuses) that passes.'),
  body_contains: text('Text the HTTP response body must contain.', 10_000).optional(),
  method: z.enum(['GET', 'HEAD']).default('GET').describe('HTTP method.'),
  headers: z.record(z.string().min(1).max(256), z.string().max(8192)).optional().describe('Extra HTTP request headers.'),
  timeout: duration('How long to keep retrying before the check fails.').prefault('30s'),
  interval: duration('Pause between attempts.').prefault('2s'),
  attempt_timeout: duration('Limit for one attempt (one request, connect or command run).').prefault('5s'),
});

export const checkSchema = z
  .union([text('A check target with a scheme: http://, https://, tcp://, pid://, cmd://', 8192), checkObject])
  .describe('A health check: a target string with a scheme, or an object.');

export const checkListSchema = z.array(checkSchema).max(100);

export type CheckConfig = z.output<typeof checkSchema>;
export type CheckObjectConfig = z.output<typeof checkObject>;
