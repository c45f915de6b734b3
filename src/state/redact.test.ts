import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest/load.js';
import { Redactor } from './redact.js';

describe('Redactor', () => {
  it('hides every occurrence of each secret', () => {
    const r = new Redactor(['hunter22', 's3cr3t-token']);
    expect(r.redact('password=hunter22 and again hunter22; token s3cr3t-token.')).toBe('password=*** and again ***; token ***.');
    expect(r.redact('nothing here')).toBe('nothing here');
  });

  it('hides a secret that contains another one whole', () => {
    const r = new Redactor(['abcd', 'abcdefgh']);
    expect(r.redact('x abcdefgh y abcd z')).toBe('x *** y *** z');
  });

  it('does not treat short, numeric or boolean values as secrets', () => {
    const r = new Redactor(['abc', '3000', '-12.5', 'true', 'FALSE', 'production']);
    expect(r.redact('port 3000 on abc, debug=true, FALSE, -12.5 in production')).toBe('port 3000 on abc, debug=true, FALSE, -12.5 in ***');
  });

  it('redacts keys and values inside a JSON-like value and keeps its structure', () => {
    const r = new Redactor(['sekrit-value']);
    const input = { a: 'x sekrit-value y', n: 42, b: true, nil: null, list: ['sekrit-value', 1, { deep: 'sekrit-value' }], 'sekrit-value': 'key' };
    expect(r.redactValue(input)).toEqual({ a: 'x *** y', n: 42, b: true, nil: null, list: ['***', 1, { deep: '***' }], '***': 'key' });
    // the input is left as it was
    expect(input.a).toBe('x sekrit-value y');
  });

  it('returns the value itself when there are no secrets', () => {
    const value = { a: 'anything' };
    expect(new Redactor([]).redactValue(value)).toBe(value);
    expect(new Redactor(['no']).redactValue(value)).toBe(value);
  });

  it('takes the environment values, notification secrets and analysis headers of a manifest', () => {
    const { manifest } = parseManifest(
      `name: a
environment:
  DB_PASSWORD: correct-horse
  PORT: 3000
  DEBUG: true
notifications:
  slack: { webhook: "https://hooks.slack.example/T1/B2/slack-secret" }
  webhook: { url: "https://hooks.example/deploys?key=webhook-key", headers: { Authorization: "Bearer header-token" } }
  email:
    smtp: { host: smtp.example, user: smtp-user, pass: smtp-pass }
    recipients: [ops@example.com]
analysis:
  metrics:
    - { name: queue, provider: http, url: "http://127.0.0.1:9000/q", path: depth, max: 1, headers: { Authorization: "Bearer analysis-token" } }
`,
      { env: {} },
    );
    const r = Redactor.forManifest(manifest);
    const text = [
      'correct-horse',
      'https://hooks.slack.example/T1/B2/slack-secret',
      'https://hooks.example/deploys?key=webhook-key',
      'Bearer header-token',
      'smtp-pass',
      'smtp-user',
      'Bearer analysis-token',
    ].join(' | ');
    expect(r.redact(text)).toBe('*** | *** | *** | *** | *** | *** | ***');
    expect(r.redact('port 3000 debug true host smtp.example to ops@example.com')).toBe('port 3000 debug true host smtp.example to ops@example.com');
  });

  it('hides the values a manifest took from the environment, wherever they are', () => {
    const loaded = parseManifest('name: a\nhealth_checks:\n  - { url: "http://127.0.0.1:3000/h?token=${TOKEN}" }\n', { env: { TOKEN: 'tok-abcdef' } });
    const r = Redactor.forManifest(loaded.manifest, loaded.secrets);
    expect(r.redact('GET /h?token=tok-abcdef failed')).toBe('GET /h?token=*** failed');
  });

  it('hides a secret with a quote or a backslash in JSON text too, where it is escaped', () => {
    const r = new Redactor(['pa"ss\\word']);
    expect(r.redact(JSON.stringify({ error: 'login with pa"ss\\word failed' }))).toBe('{"error":"login with *** failed"}');
  });
});
