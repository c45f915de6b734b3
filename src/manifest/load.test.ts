// Loading a manifest: the seed manifest, durations, interpolation, environments, loadManifest.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManifestError, UsageError } from '../errors.js';
import { formatPath, loadManifest, MAX_MANIFEST_BYTES, parseManifest } from './load.js';
import { unsupportedFeatures } from './support.js';
import { manifestError, oneIssue, parse, SEED, SEED_ENV, usageError } from './test-support.js';

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
    expect(m.hooks.pre_deploy?.map((h) => h.command)).toEqual(['chmod -R 755 $RELEASE_DIR', 'composer install --no-dev']);
    expect(m.hooks.build?.map((h) => h.command)).toEqual(['npm ci', 'npm run build']);
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
      'router.type: strategy rolling without a router (use `type: embedded`, `nginx` or `haproxy`) is not supported yet',
      'service.manager: service manager "systemd" is not supported yet',
      'notifications.slack: slack notifications is not supported yet',
      'notifications.email: email notifications is not supported yet',
    ]);
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

  it('keeps the values taken from the environment (base and chosen overlay) as the secrets to hide', () => {
    const text = 'name: a\nhealth_checks:\n  - { url: "http://127.0.0.1:3000/h?token=${TOKEN}" }\nversion: "${V:-1.2.3}"\nenvironments:\n  prod: { environment: { K: "${PROD_KEY}" } }\n  other: { environment: { K: "${OTHER_KEY}" } }\n';
    const loaded = parseManifest(text, { env: { TOKEN: 'tok-abcdef', PROD_KEY: 'prod-key-1', OTHER_KEY: 'other-key-1' }, environment: 'prod' });
    expect([...loaded.secrets].sort()).toEqual(['prod-key-1', 'tok-abcdef']);
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
    expect(m.hooks.build?.map((h) => h.command)).toEqual(['echo ${UNSET_1}']);
    expect(m.hooks.pre_deploy?.map((h) => h.command)).toEqual(['echo ${UNSET_2}']);
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
    expect(m.hooks.build?.map((h) => h.command)).toEqual(['echo ${X}']);
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
