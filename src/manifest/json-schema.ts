import { z } from 'zod';
import { manifestSchema } from './schema/index.js';

export type JsonSchema = {
  type?: string | string[];
  description?: string;
  default?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  const?: unknown;
  additionalProperties?: boolean | JsonSchema;
  minimum?: number;
  maximum?: number;
  pattern?: string;
  [k: string]: unknown;
};

/** The JSON Schema of deploy.yml as written (before defaults and durations are applied). */
export function jsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(manifestSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  return { $id: 'https://deployer.dev/schema/deploy.json', title: 'Deployer manifest (deploy.yml)', ...schema };
}
