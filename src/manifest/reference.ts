import { jsonSchema, type JsonSchema } from './json-schema.js';

/**
 * The manifest reference in Markdown, generated from the schema: one row per key with its
 * type, default and description. README.md embeds it; a test keeps the two equal.
 */
export function manifestReference(): string {
  const rows: string[] = [];
  walk(jsonSchema(), '', rows);
  return [
    '| key | type | default | description |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}

function walk(s: JsonSchema, path: string, rows: string[]): void {
  const obj = objectOf(s);
  if (!obj?.properties) return;
  for (const [key, child] of Object.entries(obj.properties)) {
    const p = path ? `${path}.${key}` : key;
    const required = obj.required?.includes(key) && child.default === undefined;
    rows.push(`| \`${p}\` | ${typeOf(child)} | ${defaultOf(child, required)} | ${escape(describe(child))} |`);
    walk(child, p, rows);
    for (const item of itemObjects(child)) walk(item, `${p}[]`, rows);
  }
}

function objectOf(s: JsonSchema): JsonSchema | undefined {
  if (s.properties) return s;
  return s.anyOf?.find((a) => a.properties);
}

/** The object shapes a list may hold (each branch of a union of objects). */
function itemObjects(s: JsonSchema): JsonSchema[] {
  const arr = s.type === 'array' ? s : s.anyOf?.find((a) => a.type === 'array');
  const items = arr?.items;
  if (!items) return [];
  return items.properties ? [items] : (items.anyOf ?? []).filter((a) => a.properties);
}

function typeOf(s: JsonSchema): string {
  if (s.format === 'duration') return 'duration';
  if (s.format === 'size') return 'size';
  if (s.type === 'string' && s.pattern?.includes('%')) return 'percentage';
  if (Array.isArray(s.type)) return s.type.join(' or ');
  if (s.enum) return s.enum.map((v) => `\`${JSON.stringify(v)}\``).join(' \\| ');
  if (s.const !== undefined) return `\`${JSON.stringify(s.const)}\``;
  if (s.anyOf) return [...new Set(s.anyOf.map(typeOf))].join(' or ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.type === 'object') return s.properties ? 'map' : 'map of strings';
  if (s.type === 'integer') return s.minimum !== undefined && s.maximum !== undefined && s.maximum < 1e9 ? `integer ${s.minimum}-${s.maximum}` : 'integer';
  return String(s.type ?? 'any');
}

function defaultOf(s: JsonSchema, required: boolean | undefined): string {
  if (required) return 'required';
  if (s.default === undefined) return '';
  const d = JSON.stringify(s.default);
  return d === '{}' ? '' : `\`${d}\``;
}

function describe(s: JsonSchema): string {
  return s.description ?? s.anyOf?.find((a) => a.description)?.description ?? '';
}

function escape(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
