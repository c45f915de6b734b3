import { z } from 'zod';
import { analysisSchema } from './analysis.js';
import { checkListSchema } from './checks.js';
import { deploymentSchema } from './deployment.js';
import { hooksSchema } from './hooks.js';
import { hostsSchema, sshSchema } from './hosts.js';
import { notificationsSchema } from './notifications.js';
import { routerSchema } from './router.js';
import { serviceSchema } from './service.js';
import { sourceSchema } from './source.js';

export const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The manifest (deploy.yml) after interpolation and the chosen environment overlay. */
export const manifestSchema = z
  .strictObject({
    name: z
      .string()
      .regex(APP_NAME, { message: 'expected 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit' })
      .describe('Name of the app (required).'),
    version: z
      .union([z.string().min(1).max(256), z.number()])
      .transform(String)
      .optional()
      .describe('Version shown in history. Default: `git describe`, package.json, or the release id.'),
    source: sourceSchema.prefault({}),
    deployment: deploymentSchema.prefault({}),
    hosts: hostsSchema,
    ssh: sshSchema.optional(),
    service: serviceSchema.prefault({}),
    router: routerSchema.prefault({}),
    health_checks: checkListSchema.default([]).describe('Checks that must all pass after activation; type detected from the URL scheme when omitted.'),
    hooks: hooksSchema.prefault({}),
    analysis: analysisSchema.optional(),
    notifications: notificationsSchema.optional(),
    environment: z
      .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { message: 'expected an environment variable name' }), z.union([z.string().max(65_536), z.number(), z.boolean()]).transform(String))
      .default({})
      .describe('Variables passed to hooks and instances. Their values are secrets: never written to logs or history.'),
    environments: z
      .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, { message: 'expected an environment name' }), z.record(z.string(), z.unknown()))
      .optional()
      .describe('Overlays picked with `-e NAME`, deep-merged over the rest of the manifest (maps merge, lists are replaced).'),
  })
  .describe('Deployer manifest (deploy.yml).');

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
