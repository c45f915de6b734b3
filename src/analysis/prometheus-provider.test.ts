// The answer shapes are Prometheus' (https://prometheus.io/docs/prometheus/latest/querying/api/);
// test/analysis-prometheus.test.ts runs the provider against a real Prometheus server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measurePrometheus, prometheusQueryUrl, promValue } from './prometheus-provider.js';
import { httpServer, metricConfig, sendJson, type TestServer } from './test-support.js';

const vector = (...values: string[]) => ({ status: 'success', data: { resultType: 'vector', result: values.map((v, i) => ({ metric: { pool: `p${i}` }, value: [1_700_000_000.123, v] })) } });

describe('promValue', () => {
  it('takes the first sample of a vector, or a scalar', () => {
    expect(promValue(vector('1.5', '7'))).toEqual({ ok: true, value: 1.5 });
    expect(promValue({ status: 'success', data: { resultType: 'scalar', result: [1_700_000_000, '0.25'] } })).toEqual({ ok: true, value: 0.25 });
  });

  it('has no data for an empty vector or NaN, and no value for infinities, matrices and errors', () => {
    expect(promValue(vector())).toEqual({ ok: false, reason: 'no data (the query returned an empty vector)' });
    expect(promValue(vector('NaN'))).toEqual({ ok: false, reason: 'no data (the query gave NaN)' });
    expect(promValue(vector('+Inf'))).toEqual({ ok: false, reason: 'the query gave +Inf, not a finite number' });
    expect(promValue(vector('-Inf'))).toEqual({ ok: false, reason: 'the query gave -Inf, not a finite number' });
    expect(promValue(vector('abc'))).toEqual({ ok: false, reason: 'unexpected sample value "abc"' });
    expect(promValue(vector('-2e-3'))).toEqual({ ok: true, value: -0.002 });
    expect(promValue({ status: 'success', data: { resultType: 'matrix', result: [] } })).toMatchObject({ ok: false, reason: expect.stringContaining('range vector') });
    expect(promValue({ status: 'success', data: { resultType: 'string', result: [1, 'x'] } })).toMatchObject({ ok: false, reason: 'the query returned a string, not a vector or a scalar' });
    expect(promValue({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' })).toEqual({ ok: false, reason: 'prometheus error (bad_data): parse error at char 5' });
    expect(promValue({ hello: 1 })).toMatchObject({ ok: false, reason: expect.stringContaining('not a Prometheus query answer') });
    expect(promValue({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: 3 }] } })).toMatchObject({ ok: false, reason: expect.stringContaining('unexpected sample') });
  });
});

describe('measurePrometheus', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await httpServer((req, res) => {
      const q = new URL(req.url ?? '/', 'http://x').searchParams.get('query') ?? '';
      if (q.startsWith('hang')) return;
      if (q.startsWith('bad')) return sendJson(res, 400, { status: 'error', errorType: 'bad_data', error: '1:4: parse error: unexpected end of input' });
      if (q.startsWith('down')) return sendJson(res, 502, 'Bad Gateway\n');
      return sendJson(res, 200, vector('3.25'));
    });
  });
  afterAll(() => server.close());

  const metric = (query: string, extra: Record<string, unknown> = {}) => metricConfig({ name: 'custom', provider: 'prometheus', address: `${server.url}/`, query, max: 1, ...extra });
  const vars = { app: 'shop', pool: 'canary', release: 'r1', intervalMs: 30_000 };

  it('queries /api/v1/query with the template filled in', async () => {
    expect(await measurePrometheus(metric('sum(rate(x{app="{{app}}",pool="{{pool}}"}[{{interval}}]))'), vars, fetch)).toEqual({ ok: true, value: 3.25 });
    const seen = new URL(server.requests.at(-1)!.url, 'http://x');
    expect(seen.pathname).toBe('/api/v1/query');
    expect(seen.searchParams.get('query')).toBe('sum(rate(x{app="shop",pool="canary"}[30s]))');
    expect(prometheusQueryUrl('http://p:9090//', 'a{b="c"} + 1')).toBe('http://p:9090/api/v1/query?query=a%7Bb%3D%22c%22%7D%20%2B%201');
  });

  it('reports query errors, HTTP errors, refused connections and timeouts', async () => {
    expect(await measurePrometheus(metric('bad('), vars, fetch)).toEqual({ ok: false, reason: `prometheus ${server.url}: prometheus error (bad_data): 1:4: parse error: unexpected end of input` });
    expect(await measurePrometheus(metric('down'), vars, fetch)).toEqual({ ok: false, reason: `prometheus ${server.url}: HTTP 502: Bad Gateway` });
    expect(await measurePrometheus(metric('hang', { timeout: '200ms' }), vars, fetch)).toEqual({ ok: false, reason: `prometheus ${server.url}: timed out after 200 ms` });
    const closed = await httpServer(() => {});
    await closed.close();
    const refused = await measurePrometheus(metricConfig({ name: 'c', provider: 'prometheus', address: closed.url, query: 'up', max: 1 }), vars, fetch);
    expect(refused).toMatchObject({ ok: false, reason: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('sends a user:password of the address as basic auth, and never shows them (nor in a refused connection)', async () => {
    const withUser = server.url.replace('http://', 'http://prom-user:prom-Passw0rd@');
    expect(await measurePrometheus(metricConfig({ name: 'c', provider: 'prometheus', address: withUser, query: 'up', max: 1 }), vars, fetch)).toEqual({ ok: true, value: 3.25 });
    expect(server.requests.at(-1)!.headers.authorization).toBe(`Basic ${Buffer.from('prom-user:prom-Passw0rd').toString('base64')}`);
    const closed = await httpServer(() => {});
    await closed.close();
    const refused = await measurePrometheus(metricConfig({ name: 'c', provider: 'prometheus', address: `${closed.url.replace('http://', 'http://prom-user:prom-Passw0rd@')}/prom?token=query-secret`, query: 'up', max: 1 }), vars, fetch);
    expect(refused).toMatchObject({ ok: false, reason: expect.stringMatching(new RegExp(`^prometheus ${closed.url}/prom: .*ECONNREFUSED`)) });
    expect(JSON.stringify(refused)).not.toMatch(/prom-user|prom-Passw0rd|query-secret/);
  });
});
