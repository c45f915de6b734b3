// Errors from loading a manifest: key paths and lines, hostile input, and a fuzz of the seed manifest.
import { describe, expect, it } from 'vitest';
import { ManifestError, UsageError } from '../errors.js';
import { parseManifest } from './load.js';
import { manifestError, oneIssue, parse, SEED, SEED_ENV } from './test-support.js';

describe('errors name the key path and the line', () => {
  it('points at the line of a bad value in the seed manifest', () => {
    const text = SEED.replace('keep_releases: 5', 'keep_releases: 0');
    expect(oneIssue(text, { env: SEED_ENV })).toBe('deploy.yml:18: deployment.keep_releases: must be at least 1, got 0');
  });

  it('uses the file name it was given', () => {
    const err = manifestError(() => parse('name: a\ndeployment:\n  keep_releases: -1\n', { file: '/somewhere/prod.yml' }));
    expect(err.message).toBe('prod.yml:3: deployment.keep_releases: must be at least 1, got -1');
  });

  it('lists every problem at once', () => {
    const err = manifestError(() => parse('name: a\ndeployment:\n  keep_releases: 0\n  auto_rollback: "yes"\n'));
    expect(err.issues.map((i) => `${i.line} ${i.path}`).sort()).toEqual(['3 deployment.keep_releases', '4 deployment.auto_rollback']);
    expect(err.message).toMatch(/^2 problems in the manifest:\n {2}- deploy\.yml:/);
    expect(err.message).toContain('deploy.yml:4: deployment.auto_rollback: expected true or false, got "yes"');
  });

  it('names the entry of router.trusted_proxies that is not an address or CIDR block', () => {
    expect(oneIssue('name: a\nrouter:\n  type: embedded\n  trusted_proxies:\n    - 10.0.0.0/8\n    - 10.0.0.0/33\n')).toBe(
      'deploy.yml:6: router.trusted_proxies[1]: must be an IP address or a CIDR block such as 10.0.0.0/8 or fd00::/8',
    );
    expect(oneIssue('name: a\nrouter: { trusted_proxies: [proxy.example] }\n')).toMatch(/^deploy\.yml:2: router\.trusted_proxies\[0\]: must be an IP address/);
  });

  it("rejects router limits that would close healthy clients, at the key", () => {
    expect(oneIssue('name: a\nrouter:\n  send_timeout: 500ms\n')).toBe('deploy.yml:3: router.send_timeout: must be at least 1s');
    expect(oneIssue('name: a\nrouter:\n  max_head_memory: 1KiB\n')).toBe('deploy.yml:3: router.max_head_memory: must be between 64KiB and 1TiB');
    expect(oneIssue('name: a\nrouter:\n  max_connections: 0\n')).toMatch(/^deploy\.yml:3: router\.max_connections: must be at least 1/);
  });

  it('reports a missing name', () => {
    expect(oneIssue('version: "1"\n')).toBe('deploy.yml:1: name: is required');
    expect(oneIssue('name: "has space"\n')).toMatch(/^deploy\.yml:1: name: expected 1-64 letters/);
  });

  it('reports unknown keys with "did you mean", at the key', () => {
    const err = manifestError(() => parse('name: a\ndeployment:\n  keep_release: 3\nsorce: {}\nhooks:\n  biuld: [make]\n'));
    expect([...err.issues].sort((a, b) => a.line! - b.line!)).toEqual([
      { path: 'deployment.keep_release', file: 'deploy.yml', line: 3, message: 'unknown key "keep_release" (did you mean "keep_releases"?)' },
      { path: 'sorce', file: 'deploy.yml', line: 4, message: 'unknown key "sorce" (did you mean "source"?)' },
      { path: 'hooks.biuld', file: 'deploy.yml', line: 6, message: 'unknown key "biuld" (did you mean "build"?)' },
    ]);
    // nothing close: no suggestion
    expect(oneIssue('name: a\nzzzzzzzz: 1\n')).toBe('deploy.yml:2: zzzzzzzz: unknown key "zzzzzzzz"');
  });

  it('suggests the right spelling of an enum value', () => {
    expect(oneIssue('name: a\ndeployment:\n  strategy: blue_green\n')).toBe(
      'deploy.yml:3: deployment.strategy: must be one of "recreate", "rolling", "blue-green", "canary", got "blue_green" (did you mean "blue-green"?)',
    );
    expect(oneIssue('name: a\nservice:\n  manager: systemdd\n')).toMatch(/^deploy\.yml:3: service\.manager: must be one of .*got "systemdd" \(did you mean "systemd"\?\)$/);
  });

  it('reports wrong types in hosts entries', () => {
    const err = manifestError(() => parse('name: a\nhosts:\n  - local\n  - {host: h1, port: "x"}\n  - 5\n  - {host: h2, roles: web}\n'));
    expect(err.issues.map((i) => `${i.line} ${i.path}: ${i.message}`)).toEqual([
      '4 hosts[1].port: expected a number, got "x"',
      '5 hosts[2]: expected a string or a map of keys, got 5',
      '6 hosts[3].roles: expected a list, got "web"',
    ]);
    expect(oneIssue('name: a\nhosts: web1\n')).toBe('deploy.yml:2: hosts: expected a list, got "web1"');
    expect(oneIssue('name: a\nhosts: []\n')).toBe('deploy.yml:2: hosts: must have at least 1 entry');
  });

  it('reports wrong types in health_checks entries', () => {
    const err = manifestError(() => parse('name: a\nhealth_checks:\n  - {type: http, url: 5}\n  - {type: htp, url: "http://x"}\n  - 42\n  - {url: "http://x", expected_status: 99}\n'));
    expect(err.issues.map((i) => `${i.line} ${i.path}: ${i.message}`)).toEqual([
      '3 health_checks[0].url: expected a string, got 5',
      '4 health_checks[1].type: must be one of "http", "tcp", "process", "command", got "htp" (did you mean "http"?)',
      '5 health_checks[2]: expected a string or a map of keys, got 42',
      '6 health_checks[3].expected_status: must be at least 100, got 99',
    ]);
  });

  it('reports wrong types in hook lists', () => {
    const err = manifestError(() => parse('name: a\nhooks:\n  build:\n    - make\n    - 5\n  pre_deploy: {a: 1}\n'));
    expect(err.issues.map((i) => `${i.line} ${i.path}: ${i.message}`).sort()).toEqual([
      '5 hooks.build[1]: expected a string or a map of keys, got 5',
      '6 hooks.pre_deploy.a: unknown key "a"',
      '6 hooks.pre_deploy.command: is required',
    ]);
    // a single string is a list of one command
    expect(parse('name: a\nhooks:\n  build: make all\n').manifest.hooks.build).toEqual([{ command: 'make all', run_once: false }]);
    // a command of a fleet's first host only
    expect(parse('name: a\nhooks:\n  post_activate:\n    - {command: migrate, run_once: true}\n    - echo\n').manifest.hooks.post_activate).toEqual([
      { command: 'migrate', run_once: true },
      { command: 'echo', run_once: false },
    ]);
  });

  it('reports a manifest that is not a map', () => {
    expect(manifestError(() => parse('')).message).toBe('deploy.yml: the manifest must be a map of keys (name:, source:, deployment: ...), got an empty document');
    expect(manifestError(() => parse('- a\n- b\n')).message).toMatch(/got a list$/);
    expect(manifestError(() => parse('just text\n')).message).toMatch(/got a single value$/);
  });

  it('reports invalid YAML with its line', () => {
    const err = manifestError(() => parse('name: a\nname: b\n'));
    expect(err.issues).toEqual([{ path: '', file: 'deploy.yml', line: 2, message: 'invalid YAML: Map keys must be unique' }]);
    const tabs = manifestError(() => parse('name: a\ndeployment:\n\tkeep_releases: 3\n'));
    expect(tabs.issues[0]).toMatchObject({ line: 3 });
    expect(tabs.issues[0]!.message).toMatch(/^invalid YAML: /);
  });
});

describe('hostile input', () => {
  it('refuses huge numbers without overflowing', () => {
    const err = manifestError(() => parse('name: a\ndeployment:\n  keep_releases: 1e308\n'));
    expect(err.issues.length).toBeGreaterThanOrEqual(1);
    for (const i of err.issues) expect(i).toMatchObject({ path: 'deployment.keep_releases', line: 3 });
    expect(err.message).toContain('deployment.keep_releases: must be at most 1000, got 1e+308');
  });

  it('refuses an over-long string', () => {
    expect(oneIssue(`name: a\nversion: ${'x'.repeat(2 * 1024 * 1024)}\n`)).toBe('deploy.yml:2: version: must be at most 256 characters long');
  });

  it('refuses a YAML alias bomb quickly instead of expanding it', () => {
    const levels = 'abcdefghi'.split('');
    const lines = levels.map((l, i) => (i === 0 ? `${l}: &${l} ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]` : `${l}: &${l} [${Array(9).fill(`*${levels[i - 1]}`).join(',')}]`));
    const started = performance.now();
    const err = manifestError(() => parse(`name: a\n${lines.join('\n')}\n`));
    expect(performance.now() - started).toBeLessThan(5000);
    expect(err.message).toMatch(/^deploy\.yml: invalid YAML: .*alias/i);
  });
});

/** mulberry32: a tiny deterministic PRNG, so a failing fuzz case can be replayed. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('fuzz', () => {
  const FUZZ_SEED = 0x5eed2024;
  const PIECES = [':', '-', '[', '{', ']', '}', '\t', '"', "'", '&', '*', '!', '|', '>', '#', '\n', ' ', '${', '$${', '%', '@'];

  it(`300 random mutations of the seed manifest (seed ${FUZZ_SEED}) end in success or a ManifestError/UsageError`, () => {
    const rnd = mulberry32(FUZZ_SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const outcomes = { ok: 0, manifest: 0, usage: 0 };
    for (let i = 0; i < 300; i++) {
      let text = SEED;
      const edits = 1 + Math.floor(rnd() * 3);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(rnd() * (text.length + 1));
        const op = Math.floor(rnd() * 3);
        if (op === 0) text = text.slice(0, at);
        else if (op === 1) text = text.slice(0, at) + pick(PIECES) + text.slice(at + 1);
        else text = text.slice(0, at) + pick(PIECES) + text.slice(at);
      }
      try {
        parseManifest(text, { env: SEED_ENV });
        outcomes.ok++;
      } catch (e) {
        if (e instanceof ManifestError) {
          outcomes.manifest++;
          expect(e.issues.length, `case ${i}`).toBeGreaterThan(0);
        } else if (e instanceof UsageError) outcomes.usage++;
        else throw new Error(`case ${i} (seed ${FUZZ_SEED}) threw ${String(e)} for:\n${text}`, { cause: e });
      }
    }
    expect(outcomes.ok + outcomes.manifest + outcomes.usage).toBe(300);
    // the mutations are not all harmless or all fatal
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.manifest).toBeGreaterThan(0);
  });
});
