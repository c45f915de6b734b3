import { describe, expect, it } from 'vitest';
import { jsonSchema } from './json-schema.js';
import { manifestReference } from './reference.js';
import { manifestSchema } from './schema/index.js';

const TOP_LEVEL = Object.keys(manifestSchema.shape);

/** The reference's rows by key: `{ type, default, description }`. */
function rows(): Map<string, { type: string; def: string; description: string }> {
  const out = new Map<string, { type: string; def: string; description: string }>();
  for (const line of manifestReference().split('\n').slice(2)) {
    const m = /^\| `([^`]+)` \| (.*?) \| (.*?) \| (.*) \|$/.exec(line);
    if (m) out.set(m[1]!, { type: m[2]!, def: m[3]!, description: m[4]! });
  }
  return out;
}

describe('manifestReference', () => {
  it('is a Markdown table with a header', () => {
    const lines = manifestReference().split('\n');
    expect(lines[0]).toBe('| key | type | default | description |');
    expect(lines[1]).toBe('|---|---|---|---|');
    expect(lines.at(-1)).toBe('');
  });

  it('has a row for every top-level key', () => {
    const r = rows();
    expect(TOP_LEVEL).toEqual(expect.arrayContaining(['name', 'source', 'deployment', 'hosts', 'service', 'router', 'health_checks', 'hooks', 'notifications', 'environment', 'environments']));
    for (const key of TOP_LEVEL) expect(r.has(key), key).toBe(true);
  });

  it('documents nested keys with their type and default', () => {
    const r = rows();
    expect(r.get('name')).toMatchObject({ type: 'string', def: 'required' });
    expect(r.get('deployment.keep_releases')).toEqual({
      type: 'integer 1-1000',
      def: '`5`',
      description: 'Releases kept by cleanup (the live one, the rollback point and protected ones are always kept).',
    });
    expect(r.get('deployment.strategy')!.def).toBe('`"recreate"`');
    expect(r.get('hooks.timeout')).toMatchObject({ type: 'duration', def: '`"300s"`' });
    expect(r.get('hosts')!.def).toBe('`["local"]`');
    // keys of list items
    expect(r.has('health_checks[].url')).toBe(true);
    expect(r.has('notifications.email.smtp.host')).toBe(true);
  });

  it('escapes pipes so every row has exactly four cells', () => {
    for (const line of manifestReference().split('\n').filter((l) => l.startsWith('| `'))) {
      const cells = line.replace(/\\\|/g, '').split('|');
      expect(cells.length, line).toBe(6);
    }
  });
});

describe('jsonSchema', () => {
  const schema = jsonSchema();

  it('is a closed object that requires name', () => {
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['name']);
    expect(Object.keys(schema.properties!)).toEqual(TOP_LEVEL);
    expect(schema.$id).toBe('https://deployer.dev/schema/deploy.json');
  });

  it('closes nested objects too and keeps enums and defaults', () => {
    const deployment = schema.properties!.deployment!;
    expect(deployment.additionalProperties).toBe(false);
    expect(deployment.properties!.strategy).toMatchObject({ enum: ['recreate', 'rolling', 'blue-green', 'canary'], default: 'recreate' });
    expect(deployment.properties!.keep_releases).toMatchObject({ type: 'integer', minimum: 1, maximum: 1000, default: 5 });
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});
