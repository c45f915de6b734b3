// The `http` provider: GET a URL returning JSON and take the number at `path`.
import type { MetricConfig } from '../manifest/schema/analysis.js';
import { displayUrl } from '../util/url.js';
import { fetchJson } from './fetch-json.js';
import { describeJson, lookupPath } from './json-path.js';
import { fillTemplate, type TemplateVars } from './template.js';
import type { Measurement } from './types.js';

/** A JSON value as a metric: a finite number, or a string holding one. */
export function numericValue(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export async function measureHttp(metric: MetricConfig, vars: TemplateVars, f: typeof fetch): Promise<Measurement> {
  if (!metric.url) return { ok: false, reason: 'no url configured' };
  if (!metric.path) return { ok: false, reason: 'no path configured' };
  const url = fillTemplate(metric.url, vars, encodeURIComponent);
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(metric.headers ?? {})) headers[k] = fillTemplate(v, vars);
  const shown = displayUrl(url);
  const r = await fetchJson(f, url, { headers, timeoutMs: metric.timeout });
  if (!r.ok) return { ok: false, reason: `GET ${shown}: ${r.reason}` };
  const found = lookupPath(r.json, metric.path);
  if (!found.found) return { ok: false, reason: `GET ${shown}: ${found.reason}` };
  const value = numericValue(found.value);
  if (value === null) return { ok: false, reason: `GET ${shown}: ${metric.path} is ${describeJson(found.value)}, not a number` };
  return { ok: true, value };
}
