// The `prometheus` provider: an instant PromQL query over the HTTP API, its value as the metric.
import type { MetricConfig } from '../manifest/schema/analysis.js';
import { displayUrl } from '../util/url.js';
import { fetchJson } from './fetch-json.js';
import { fillTemplate, type TemplateVars } from './template.js';
import type { Measurement } from './types.js';

interface PromResponse {
  status?: string;
  errorType?: string;
  error?: string;
  data?: { resultType?: string; result?: unknown };
}

/** A sample's value as Prometheus writes it ("1.5", "NaN", "+Inf", "-Inf") as a measurement. */
function sampleValue(raw: unknown, what: string): Measurement {
  const s = Array.isArray(raw) ? raw[1] : undefined;
  if (typeof s !== 'string') return { ok: false, reason: `unexpected ${what} in the answer: ${JSON.stringify(raw)?.slice(0, 100)}` };
  if (s === 'NaN') return { ok: false, reason: 'no data (the query gave NaN)' };
  if (/^[+-]?Inf$/i.test(s)) return { ok: false, reason: `the query gave ${s}, not a finite number` };
  const v = Number(s);
  if (s.trim() === '' || !Number.isFinite(v)) return { ok: false, reason: `unexpected ${what} value ${JSON.stringify(s.slice(0, 40))}` };
  return { ok: true, value: v };
}

/** The value of a decoded /api/v1/query answer: a vector's first sample, or a scalar. */
export function promValue(body: unknown): Measurement {
  const b = (body ?? {}) as PromResponse;
  if (b.status === 'error') return { ok: false, reason: `prometheus error${b.errorType ? ` (${b.errorType})` : ''}: ${b.error ?? 'no message'}` };
  if (b.status !== 'success' || !b.data) return { ok: false, reason: 'not a Prometheus query answer (no status "success" with data)' };
  const { resultType, result } = b.data;
  switch (resultType) {
    case 'scalar':
      return sampleValue(result, 'scalar');
    case 'vector': {
      const series = Array.isArray(result) ? (result as { value?: unknown }[]) : [];
      if (series.length === 0) return { ok: false, reason: 'no data (the query returned an empty vector)' };
      return sampleValue(series[0]!.value, 'sample');
    }
    case 'matrix':
      return { ok: false, reason: 'the query returned a range vector; use an instant vector or a scalar (e.g. wrap it in rate() or sum())' };
    default:
      return { ok: false, reason: `the query returned a ${String(resultType)}, not a vector or a scalar` };
  }
}

export function prometheusQueryUrl(address: string, query: string): string {
  return `${address.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`;
}

export async function measurePrometheus(metric: MetricConfig, vars: TemplateVars, f: typeof fetch): Promise<Measurement> {
  if (!metric.address) return { ok: false, reason: 'no address configured' };
  if (!metric.query) return { ok: false, reason: 'no query configured' };
  const r = await fetchJson(f, prometheusQueryUrl(metric.address, fillTemplate(metric.query, vars)), { timeoutMs: metric.timeout });
  const where = `prometheus ${displayUrl(metric.address)}`;
  // Prometheus answers a bad query or its own timeout with a 4xx/5xx and a JSON body saying why
  if (r.ok || (r.json as PromResponse | undefined)?.status === 'error') {
    const m = promValue(r.json);
    return m.ok ? m : { ok: false, reason: `${where}: ${m.reason}` };
  }
  return { ok: false, reason: `${where}: ${r.reason}` };
}
