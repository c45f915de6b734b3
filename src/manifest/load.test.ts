import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestError, UsageError } from '../errors.js';
import { formatPath, loadManifest, MAX_MANIFEST_BYTES, parseManifest, type LoadOptions } from './load.js';
import { unsupportedFeatures } from './support.js';

const SEED = readFileSync(new URL('../../test/fixtures/seed-manifest.yml', import.meta.url), 'utf8');
const SEED_ENV = { SLACK_WEBHOOK: 'https://hooks.slack.example/T000/B000/XXXX' };

/** Parses with an empty environment unless one is given. */
const parse = (text: string, opts: LoadOptions & { file?: string } = {}) => parseManifest(text, { env: {}, ...opts });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, but it parsed');
}

function manifestError(fn: () => unknown): ManifestError {
  const e = thrown(fn);
  if (!(e instanceof ManifestError)) throw e;
  return e;
}

function usageError(fn: () => unknown): UsageError {
  const e = thrown(fn);
  if (!(e instanceof UsageError)) throw e;
  return e;
}

/** The only issue of a ManifestError, as `file:line: path: message`. */
function oneIssue(text: string, opts: LoadOptions = {}): string {
  const err = manifestError(() => parse(text, opts));
  expect(err.issues).toHaveLength(1);
  return err.message;
}

describe('the seed manifest', () => {
  it('validates with SLACK_WEBHOOK set', () => {
    const loaded = parse(SEED, { env: SEED_ENV });
    const m = loaded.manifest;
    expect(m.name).toBe('my-application');
    expect(m.version).toBe('1.2.3');
    expect(m.source).toMatchObject({ type: 'git', url: 'git@github.com:org/repo.git', branch: 'main' });
    expect(m.deployment).toMatchObject({ strategy: 'rolling', app_root: '/var/www/myapp', keep_releases: 5 });
    // seed durations are plain numbers of seconds
    expect(m.deployment.rolling).toMatchObject({ batch_size: 1, batch_delay: 10_000 });
    expect(m.deployment.canary).toMatchObject({ initial_percent: 5, step_percent: 10, step_interval: 60_000 });
    expect(m.notifications?.slack).toEqual({ webhook: SEED_ENV.SLACK_WEBHOOK, channel: '#deployments' });
    expect(m.notifications?.email?.recipients).toEqual(['devops@example.com']);
    expect(m.environment).toEqual({ APP_ENV: 'production', LOG_LEVEL: 'warning' });
    // hook commands keep their shell variables
    expect(m.hooks.pre_deploy).toEqual(['chmod -R 755 $RELEASE_DIR', 'composer install --no-dev']);
    expect(m.hooks.build).toEqual(['npm ci', 'npm run build']);
    expect(loaded.checks.map((c) => c.label)).toEqual(['http http://localhost/health', 'tcp localhost:80', 'command test -f /var/www/myapp/current/index.php']);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.environments).toEqual([]);
  });

  it('fails naming SLACK_WEBHOOK and its line when it is not set', () => {
    const err = manifestError(() => parse(SEED, { env: {} }));
    expect(err.issues).toEqual([
      {
        path: 'notifications.slack.webhook',
        file: 'deploy.yml',
        line: 61,
        message: 'environment variable SLACK_WEBHOOK is not set (write ${SLACK_WEBHOOK:-default} to give a default)',
      },
    ]);
    expect(err.exitCode).toBe(2);
  });

  it('lists every feature that is not built yet', () => {
    const issues = unsupportedFeatures(parse(SEED, { env: SEED_ENV }).manifest);
    expect(issues.map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'router.type: strategy rolling with router "none" (use `type: embedded`) is not supported yet',
      'service.manager: service manager "systemd" is not supported yet',
      'notifications.slack: slack notifications is not supported yet',
      'notifications.email: email notifications is not supported yet',
    ]);
  });
});

describe('unsupportedFeatures', () => {
  it('is empty for a local recreate deploy with a script manager', () => {
    const m = parse('name: a\nservice: { manager: script, restart_command: ./restart }\n').manifest;
    expect(unsupportedFeatures(m)).toEqual([]);
    // the strategy can be overridden (deploy --strategy): canary needs the runtime
    expect(unsupportedFeatures(m, 'canary').map((i) => i.message)).toEqual([
      'strategy canary with service manager "script" (use `manager: process`) is not supported yet',
      'strategy canary with router "none" (use `type: embedded`) is not supported yet',
    ]);
  });

  it('names remote hosts, ssh and routers', () => {
    const m = parse(`name: a
hosts: [local, "ssh://deploy@web1:22", {host: web2}]
ssh: { user: deploy }
router: { type: nginx, listen: 8080 }
analysis: { interval: 5s }
notifications: { webhook: { url: "https://x.example/hook" } }
`).manifest;
    expect(unsupportedFeatures(m).map((i) => formatPath(i.path))).toEqual(['hosts[1]', 'hosts[2]', 'ssh', 'router.type', 'notifications.webhook']);
    expect(unsupportedFeatures(m)[0]!.message).toBe('deploying to remote host "ssh://deploy@web1:22" is not supported yet');
  });
});

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
      '5 hooks.build[1]: expected a string, got 5',
      '6 hooks.pre_deploy: expected a string or a list, got a map',
    ]);
    // a single string is a list of one command
    expect(parse('name: a\nhooks:\n  build: make all\n').manifest.hooks.build).toEqual(['make all']);
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

describe('durations', () => {
  const timeout = (v: string) => parse(`name: a\nhooks:\n  timeout: ${v}\n`).manifest.hooks.timeout;

  it('accepts seconds and unit strings', () => {
    expect(timeout('30')).toBe(30_000);
    expect(timeout('"30"')).toBe(30_000);
    expect(timeout('"30s"')).toBe(30_000);
    expect(timeout('5m')).toBe(300_000);
    expect(timeout('1m30s')).toBe(90_000);
    expect(timeout('500ms')).toBe(500);
    expect(timeout('1.5')).toBe(1500);
    // the default
    expect(parse('name: a\n').manifest.hooks.timeout).toBe(300_000);
  });

  it('refuses bad ones and ones that are too long, at their line', () => {
    expect(oneIssue('name: a\nhooks:\n  timeout: 5x\n')).toBe('deploy.yml:3: hooks.timeout: expected a duration such as 30, "30s", "5m" or "1m30s", got "5x"');
    expect(oneIssue('name: a\nhooks:\n  timeout: -5\n')).toMatch(/^deploy\.yml:3: hooks\.timeout: expected a duration .* got -5$/);
    expect(oneIssue('name: a\nhooks:\n  timeout: "1m 30s"\n')).toMatch(/got "1m 30s"$/);
    expect(oneIssue('name: a\nservice:\n  stop_timeout: 30d\n')).toBe('deploy.yml:3: service.stop_timeout: duration "30d" is too long (at most 24 days)');
    expect(oneIssue('name: a\nservice:\n  stop_timeout: 1e12\n')).toBe('deploy.yml:3: service.stop_timeout: duration 1000000000000 is too long (at most 24 days)');
  });
});

describe('interpolation', () => {
  it('fills ${VAR} and ${VAR:-default} and keeps $${literal}', () => {
    const m = parse('name: ${APP}\nversion: "v${V:-0.0.1}-$${build}"\nenvironment:\n  URL: "http://${HOST:-localhost}:${P}/x"\n', {
      env: { APP: 'shop', P: '81' },
    }).manifest;
    expect(m.name).toBe('shop');
    expect(m.version).toBe('v0.0.1-${build}');
    expect(m.environment.URL).toBe('http://localhost:81/x');
  });

  it('turns a value that is exactly one ${VAR} into a number or boolean', () => {
    const m = parse('name: a\nservice:\n  manager: script\n  restart_command: ./r\n  base_port: ${PORT}\n  instances: "${N:-1}"\ndeployment:\n  auto_rollback: ${AR:-false}\n', {
      env: { PORT: '3100' },
    }).manifest;
    expect(m.service.base_port).toBe(3100);
    expect(m.service.instances).toBe(1);
    expect(m.deployment.auto_rollback).toBe(false);
    // not exactly one reference: stays a string, and the schema says so
    expect(oneIssue('name: a\nservice:\n  base_port: p${PORT}\n', { env: { PORT: '3100' } })).toBe('deploy.yml:3: service.base_port: expected a number, got "p3100"');
  });

  it('names an unset variable and the line it is on', () => {
    expect(oneIssue('name: a\nsource:\n  type: git\n  url: ${REPO}\n')).toBe(
      'deploy.yml:4: source.url: environment variable REPO is not set (write ${REPO:-default} to give a default)',
    );
    expect(oneIssue('name: a\nversion: "${1BAD}"\n')).toBe('deploy.yml:2: version: "${1BAD}" is not a valid variable reference (expected ${NAME} or ${NAME:-default})');
  });

  it('leaves hook commands and other shell commands alone', () => {
    const loaded = parse(
      `name: a
hooks:
  build: ["echo \${UNSET_1}"]
  pre_deploy: echo \${UNSET_2}
service:
  manager: script
  restart_command: kill \${UNSET_3}
  reload_command: echo \${UNSET_4}
health_checks:
  - { command: "test -n \${UNSET_5}" }
`,
      { env: {} },
    );
    const m = loaded.manifest;
    expect(m.hooks.build).toEqual(['echo ${UNSET_1}']);
    expect(m.hooks.pre_deploy).toEqual(['echo ${UNSET_2}']);
    expect(m.service.restart_command).toBe('kill ${UNSET_3}');
    expect(m.service.reload_command).toBe('echo ${UNSET_4}');
    expect(loaded.checks[0]!.spec).toEqual({ type: 'command', command: 'test -n ${UNSET_5}' });
  });

  it('interpolates hooks.timeout and hooks.dir, which are settings rather than commands', () => {
    const m = parse('name: a\nhooks:\n  timeout: ${T:-10s}\n  dir: ${D:-scripts}\n', { env: { T: '20s' } }).manifest;
    expect(m.hooks.timeout).toBe(20_000);
    expect(m.hooks.dir).toBe('scripts');
  });
});

describe('environments', () => {
  const BASE = `name: app
deployment:
  keep_releases: 3
  shared_dirs: [logs, cache]
  app_root: /srv/app
environment:
  A: one
  B: two
environments:
  staging:
    deployment:
      keep_releases: 2
      shared_dirs: [tmp]
    environment:
      B: null
      C: three
  prod:
    deployment:
      keep_releases: 0
  bad:
    name: other
  worse:
    hosts: 5
`;

  it('deep-merges the chosen overlay: maps merge, lists are replaced, null removes', () => {
    const loaded = parse(BASE, { environment: 'staging' });
    expect(loaded.environment).toBe('staging');
    expect(loaded.manifest.deployment).toMatchObject({ keep_releases: 2, shared_dirs: ['tmp'], app_root: '/srv/app' });
    expect(loaded.manifest.environment).toEqual({ A: 'one', C: 'three' });
    // lines of keys the overlay sets point into the overlay; the others into the base
    expect(loaded.lineOf(['deployment', 'keep_releases'])).toBe(12);
    expect(loaded.lineOf(['deployment', 'app_root'])).toBe(5);
  });

  it('uses the base without -e, and lists the environment names', () => {
    const loaded = parse(BASE);
    expect(loaded.environment).toBeUndefined();
    expect(loaded.environments).toEqual(['staging', 'prod', 'bad', 'worse']);
    expect(loaded.manifest.deployment.keep_releases).toBe(3);
    expect(loaded.manifest.environment).toEqual({ A: 'one', B: 'two' });
    expect(loaded.lineOf(['deployment', 'keep_releases'])).toBe(3);
  });

  it('refuses an unknown environment name with a UsageError listing the names', () => {
    const err = usageError(() => parse(BASE, { environment: 'qa' }));
    expect(err).not.toBeInstanceOf(ManifestError);
    expect(err.message).toBe('no environment "qa" in deploy.yml (it defines: staging, prod, bad, worse)');
    expect(usageError(() => parse('name: a\n', { environment: 'qa' })).message).toBe('deploy.yml defines no environments, so -e qa cannot be used');
  });

  it('refuses `name` and `environments` in an overlay, at the key', () => {
    expect(oneIssue(BASE, { environment: 'bad' })).toBe('deploy.yml:21: environments.bad.name: cannot be set per environment');
    expect(oneIssue('name: a\nenvironments:\n  p:\n    environments: {}\n', { environment: 'p' })).toBe('deploy.yml:4: environments.p.environments: cannot be set per environment');
    expect(oneIssue('name: a\nenvironments:\n  p: [1]\n', { environment: 'p' })).toMatch(/^deploy\.yml:3: environments\.p: /);
  });

  it("points an error inside the overlay at the overlay's line", () => {
    expect(oneIssue(BASE, { environment: 'prod' })).toBe('deploy.yml:19: deployment.keep_releases: must be at least 1, got 0');
    expect(oneIssue(BASE, { environment: 'worse' })).toBe('deploy.yml:23: hosts: expected a list, got 5');
    expect(oneIssue('name: a\nenvironments:\n  p:\n    deployment:\n      keep_release: 3\n', { environment: 'p' })).toBe(
      'deploy.yml:5: deployment.keep_release: unknown key "keep_release" (did you mean "keep_releases"?)',
    );
    // an error in the base still points at the base
    expect(oneIssue('name: a\ndeployment:\n  keep_releases: 0\nenvironments:\n  p:\n    hosts: [local]\n', { environment: 'p' })).toBe(
      'deploy.yml:3: deployment.keep_releases: must be at least 1, got 0',
    );
  });

  it('does not interpolate hook commands inside overlays either', () => {
    const m = parse('name: a\nenvironments:\n  p:\n    hooks:\n      build: ["echo ${X}"]\n', { environment: 'p' }).manifest;
    expect(m.hooks.build).toEqual(['echo ${X}']);
  });
});

describe('cross-field rules', () => {
  it('needs restart_command with the script manager, pid_file with the signal manager', () => {
    expect(oneIssue('name: a\nservice:\n  manager: script\n')).toBe('deploy.yml:3: service.restart_command: is required with `manager: script`');
    expect(oneIssue('name: a\nservice:\n  manager: signal\n')).toBe('deploy.yml:3: service.pid_file: is required with `manager: signal`');
    expect(oneIssue('name: a\nservice:\n  restart_command: ./r\n')).toBe('deploy.yml:3: service.restart_command: is used by `manager: script` only (manager is "none")');
  });

  it('refuses source keys that do not apply to the source type', () => {
    const sha = 'a'.repeat(64);
    expect(oneIssue(`name: a\nsource:\n  type: local\n  path: ./x\n  sha256: ${sha}\n`)).toBe('deploy.yml:5: source.sha256: only applies to `type: archive`');
    expect(oneIssue('name: a\nsource:\n  type: git\n  url: https://x/y.git\n  branch: main\n  ref: v1\n')).toBe('deploy.yml:6: source.ref: give either `branch` or `ref`, not both');
    expect(oneIssue('name: a\nsource:\n  path: ./x\n  branch: main\n')).toBe('deploy.yml:4: source.branch: only applies to `type: git`');
    expect(oneIssue('name: a\nsource:\n  type: archive\n  url: https://x/app.rar\n')).toMatch(/^deploy\.yml:4: source\.url: cannot tell the archive format of "https:\/\/x\/app\.rar"/);
    expect(parse(`name: a\nsource:\n  type: archive\n  url: https://x/app.tar.gz\n  sha256: ${sha}\n`).manifest.source.sha256).toBe(sha);
  });

  it('checks that each analysis metric has its provider settings and something to judge', () => {
    const base = 'name: a\ndeployment: {strategy: canary}\nservice: {manager: process, command: x}\nrouter: {type: embedded, listen: 8080}\nanalysis:\n  metrics:\n';
    expect(parse(`${base}    - {name: error_rate, max: 1}\n`).manifest.analysis!.metrics[0]).toMatchObject({ provider: 'router', judge: 'threshold', timeout: 10_000 });
    expect(oneIssue(`${base}    - {name: errors, max: 1}\n`)).toBe(
      'deploy.yml:7: analysis.metrics[0].name: "errors" is not a router metric (known: error_rate, success_rate, request_count, request_rate, latency_mean_ms, latency_p50_ms, latency_p90_ms, latency_p95_ms, latency_p99_ms)',
    );
    expect(oneIssue(`${base}    - {name: latency_p99_ms}\n`)).toBe('deploy.yml:7: analysis.metrics[0]: has nothing to judge: give max, min or max_ratio_to_baseline (or judge: mann-whitney)');
    expect(oneIssue(`${base}    - {name: q, provider: prometheus, query: up, max: 1}\n`)).toBe('deploy.yml:7: analysis.metrics[0].address: is required with provider prometheus');
    expect(oneIssue(`${base}    - {name: q, provider: http, url: "http://x/m", path: a.b, command: "echo 1", max: 1}\n`)).toBe('deploy.yml:7: analysis.metrics[0].command: is not used by provider http');
    expect(oneIssue(`${base}    - {name: error_rate, judge: mann-whitney}\n`)).toBe('deploy.yml:7: analysis.metrics[0].judge: mann-whitney compares latency samples: it needs provider router and a latency_* metric');
    expect(oneIssue(`${base}    - {name: latency_p99_ms, judge: mann-whitney, max: 100}\n`)).toBe(
      'deploy.yml:7: analysis.metrics[0].max: is not used with judge: mann-whitney (add a second metric with judge: threshold for it)',
    );
    expect(parse(`${base}    - {name: latency_p99_ms, judge: mann-whitney, confidence: 0.99}\n`).manifest.analysis!.metrics[0]).toMatchObject({ confidence: 0.99, tolerance: 0.25, min_effect: 1 });
  });

  it('checks the canary settings against each other and the service', () => {
    const base = 'name: a\nservice: {manager: process, command: x, instances: 2}\nrouter: {type: embedded, listen: 8080}\ndeployment:\n  strategy: canary\n  canary:\n';
    expect(oneIssue(`${base}    instances: 3\n`)).toBe('deploy.yml:7: deployment.canary.instances: must not be above service.instances (2): the canary is scaled up to it before promotion');
    expect(oneIssue(`${base}    header_route: {value: x}\n`)).toBe('deploy.yml:7: deployment.canary.header_route: give either `header` or `cookie`');
    expect(oneIssue(`${base}    step_percent: 0\n`)).toBe('deploy.yml:7: deployment.canary.step_percent: must be above 0, or the canary never reaches final_percent');
    expect(oneIssue(`${base}    header_route: {header: "bad header"}\n`)).toMatch(/^deploy\.yml:7: deployment\.canary\.header_route\.header: expected an HTTP header name/);
  });

  it('refuses the canary seed form together with stages', () => {
    expect(oneIssue('name: a\ndeployment:\n  canary:\n    initial_percent: 5\n    step_percent: 10\n    stages:\n      - {weight: 5}\n')).toBe(
      'deploy.yml:7: deployment.canary.stages: use either `stages` or the seed form (initial_percent, step_percent), not both',
    );
    expect(oneIssue('name: a\ndeployment:\n  canary:\n    stages:\n      - {weight: 50}\n      - {pause: manual}\n      - {weight: 10}\n')).toBe(
      'deploy.yml:7: deployment.canary.stages[2].weight: weights must not go down (10 after 50)',
    );
  });

  it('refuses duplicate hosts', () => {
    expect(oneIssue('name: a\nhosts:\n  - local\n  - web1\n  - web1\n')).toBe('deploy.yml:5: hosts[2]: duplicate of hosts[1]');
    expect(oneIssue('name: a\nhosts:\n  - {host: w, port: 22}\n  - {host: w, port: 22}\n')).toBe('deploy.yml:4: hosts[1]: duplicate of hosts[0]');
    expect(parse('name: a\nhosts:\n  - {host: w, port: 22}\n  - {host: w, port: 2222}\n').manifest.hosts).toHaveLength(2);
  });

  it('refuses a relative app_root', () => {
    expect(oneIssue('name: a\ndeployment:\n  app_root: var/www\n')).toBe('deploy.yml:3: deployment.app_root: must be an absolute path or start with ~/ (got "var/www")');
    expect(parse('name: a\ndeployment:\n  app_root: ~/apps/a\n').manifest.deployment.app_root).toBe('~/apps/a');
  });

  it('refuses {port} without base_port and unknown {templates}', () => {
    expect(oneIssue('name: a\nservice:\n  manager: script\n  restart_command: ./r\nhealth_checks:\n  - http://127.0.0.1:{port}/h\n')).toBe(
      'deploy.yml:6: health_checks[0]: uses {port}, but service.base_port is not set',
    );
    expect(oneIssue('name: a\nservice:\n  manager: script\n  restart_command: ./r\n  base_port: 3000\nhealth_checks:\n  - http://127.0.0.1:{port}/{nope}\n')).toBe(
      'deploy.yml:7: health_checks[0]: unknown template {nope} (known: {port}, {host}, {release}, {pool})',
    );
    expect(oneIssue('name: a\nhealth_checks:\n  - ftp://x\n')).toBe('deploy.yml:3: health_checks[0]: "ftp://x" has no known scheme (expected http://, https://, tcp://, pid:// or cmd://)');
  });

  it('refuses a shared path listed twice', () => {
    expect(oneIssue('name: a\ndeployment:\n  shared_dirs: [logs, logs/]\n')).toBe('deploy.yml:3: deployment.shared_dirs[1]: "logs/" is listed twice');
    expect(oneIssue('name: a\ndeployment:\n  shared_dirs: ["../up"]\n')).toMatch(/^deploy\.yml:3: deployment\.shared_dirs\[0\]: must be a relative path inside the release/);
  });

  it('warns (not fails) about a reload_command with manager none, with its line', () => {
    const loaded = parse('name: a\nservice:\n  reload_command: nginx -s reload\n');
    expect(loaded.warnings).toEqual([{ path: 'service.reload_command', file: 'deploy.yml', line: 3, message: expect.stringMatching(/manager: none/) }]);
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

describe('loadManifest', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deployer-load-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads a file and remembers where it is', async () => {
    const file = join(dir, 'deploy.yml');
    writeFileSync(file, SEED);
    const loaded = await loadManifest(file, { env: SEED_ENV });
    expect(loaded.manifest.name).toBe('my-application');
    expect(loaded.file).toBe(file);
    expect(loaded.dir).toBe(dir);
  });

  it('names the file in errors', async () => {
    const file = join(dir, 'staging.yml');
    writeFileSync(file, 'name: a\ndeployment:\n  keep_releases: 0\n');
    await expect(loadManifest(file, { env: {} })).rejects.toThrow('staging.yml:3: deployment.keep_releases: must be at least 1, got 0');
  });

  it('refuses a missing file or a directory with a UsageError', async () => {
    await expect(loadManifest(join(dir, 'nope.yml'))).rejects.toBeInstanceOf(UsageError);
    await expect(loadManifest(join(dir, 'nope.yml'))).rejects.toThrow(/manifest .*nope\.yml not found/);
    mkdirSync(join(dir, 'adir'));
    await expect(loadManifest(join(dir, 'adir'))).rejects.toThrow(/is not a file/);
  });

  it('refuses a file over the size limit before parsing it', async () => {
    const file = join(dir, 'deploy.yml');
    writeFileSync(file, `name: a\nversion: ${'x'.repeat(2 * 1024 * 1024)}\n`);
    const err = await loadManifest(file, { env: {} }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ManifestError);
    expect((err as ManifestError).message).toBe(`deploy.yml: the file is ${2 * 1024 * 1024 + 18} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES}`);
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

describe('interpolation is scoped to the chosen environment', () => {
  const text = `name: app
environments:
  prod:
    environment: { KEY: "\${PROD_KEY}" }
  staging:
    environment: { KEY: "\${STAGING_KEY:-dev}" }
`;

  it('a variable only another environment uses need not be set', () => {
    expect(parseManifest(text, { env: {} }).manifest.name).toBe('app');
    expect(parseManifest(text, { env: {}, environment: 'staging' }).manifest.environment).toEqual({ KEY: 'dev' });
  });

  it('the chosen environment still needs its variables, and says where', () => {
    try {
      parseManifest(text, { env: {}, environment: 'prod' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      expect((e as ManifestError).issues[0]).toMatchObject({ path: 'environments.prod.environment.KEY', line: 4 });
      expect((e as ManifestError).message).toContain('PROD_KEY is not set');
    }
  });

  it('a whole-`${VAR}` value that reads as a number stays text where the key wants text', () => {
    const m = parseManifest('name: ${APP}\nsource: { type: git, url: x, branch: "${BR}" }\nservice:\n  manager: script\n  restart_command: x\n  base_port: ${PORT}\n', {
      env: { APP: '123', BR: '2024', PORT: '3000' },
    }).manifest;
    expect(m.name).toBe('123');
    expect(m.source.branch).toBe('2024');
    expect(m.service.base_port).toBe(3000);
  });

  it('a huge number gets one message naming the key\'s own bound', () => {
    try {
      parseManifest('name: app\ndeployment: { keep_releases: 1e308 }\n', { env: {} });
      expect.unreachable();
    } catch (e) {
      const issues = (e as ManifestError).issues;
      expect(issues).toHaveLength(1);
      expect(issues[0]!.message).toContain('at most 1000');
    }
  });
});

describe('paths inside the release', () => {
  it.each([
    ['hooks:\n  dir: ../../../tmp/evil\n', 'hooks.dir'],
    ['hooks:\n  dir: /tmp/evil\n', 'hooks.dir'],
    ['deployment:\n  shared_dirs: ["."]\n', 'deployment.shared_dirs[0]'],
    ['deployment:\n  shared_dirs: ["logs/./x"]\n', 'deployment.shared_dirs[0]'],
    ['deployment:\n  shared_files: ["a//b"]\n', 'deployment.shared_files[0]'],
  ])('refuses %j', (extra, path) => {
    try {
      parseManifest(`name: app\n${extra}`, { env: {} });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ManifestError);
      expect((e as ManifestError).issues[0]).toMatchObject({ path, message: expect.stringContaining('relative path inside the release') });
    }
  });

  it('accepts nested relative paths and a trailing slash', () => {
    const m = parseManifest('name: app\nhooks: { dir: scripts/hooks }\ndeployment: { shared_dirs: ["storage/app/", "logs"] }\n', { env: {} }).manifest;
    expect(m.hooks.dir).toBe('scripts/hooks');
    expect(m.deployment.shared_dirs).toEqual(['storage/app/', 'logs']);
  });
});

describe('the embedded runtime settings', () => {
  const base = 'name: a\nservice: { manager: process, command: node s.js, instances: 3 }\n';
  it('an embedded router needs a port and the process manager', () => {
    expect(oneIssue(`${base}router: { type: embedded }\n`)).toBe('deploy.yml:3: router.listen: is required with `type: embedded`: the port the router serves the app on');
    expect(oneIssue('name: a\nservice: { manager: script, restart_command: ./r }\nrouter: { type: embedded, listen: 80 }\n')).toBe(
      'deploy.yml:3: router.type: an embedded router sends traffic to the instances of `service.manager: process`; manager is "script"',
    );
    expect(oneIssue('name: a\nrouter: { listen: 8080 }\n')).toBe('deploy.yml:2: router.listen: is used by `type: embedded` only (router type is "none")');
  });

  it('rolling keeps at least one instance moving and one failure to stop at', () => {
    expect(oneIssue(`${base}router: { type: embedded, listen: 80 }\ndeployment: { strategy: rolling, rolling: { max_unavailable: 0 } }\n`)).toBe(
      'deploy.yml:4: deployment.rolling.max_unavailable: must be at least 1: instances are updated in place, so each one is out of service while it restarts',
    );
    expect(oneIssue(`${base}router: { type: embedded, listen: 80 }\ndeployment: { strategy: rolling, rolling: { max_failures: 0 } }\n`)).toBe(
      'deploy.yml:4: deployment.rolling.max_failures: must be at least 1 (the number of failed instances that stops the deploy)',
    );
  });

  it('deploy refuses blue-green and rolling without the runtime, naming what to use', () => {
    const m = parse('name: a\ndeployment: { strategy: blue-green }\nservice: { manager: script, restart_command: ./r }\n').manifest;
    expect(unsupportedFeatures(m).map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      'service.manager: strategy blue-green with service manager "script" (use `manager: process`) is not supported yet',
      'router.type: strategy blue-green with router "none" (use `type: embedded`) is not supported yet',
    ]);
    const ok = parse(`${base}deployment: { strategy: blue-green }\nrouter: { type: embedded, listen: 8080 }\n`).manifest;
    expect(unsupportedFeatures(ok)).toEqual([]);
  });
});
