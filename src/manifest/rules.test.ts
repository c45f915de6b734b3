// Rules across fields (source, service, canary, analysis, paths, the embedded runtime) and the
// features that are not supported yet.
import { describe, expect, it } from 'vitest';
import { ManifestError } from '../errors.js';
import { formatPath, parseManifest } from './load.js';
import { unsupportedFeatures } from './support.js';
import { oneIssue, parse } from './test-support.js';

describe('unsupportedFeatures', () => {
  it('is empty for a local recreate deploy with a script manager', () => {
    const m = parse('name: a\nservice: { manager: script, restart_command: ./restart }\n').manifest;
    expect(unsupportedFeatures(m)).toEqual([]);
    // the strategy can be overridden (deploy --strategy): canary needs the runtime
    expect(unsupportedFeatures(m, 'canary').map((i) => i.message)).toEqual([
      'strategy canary with service manager "script" (use `manager: process`) is not supported yet',
      'strategy canary without a router (use `type: embedded`, `nginx` or `haproxy`) is not supported yet',
    ]);
  });

  it('names notifications, no longer remote hosts, ssh or the nginx and HAProxy routers', () => {
    const m = parse(`name: a
hosts: [local, "ssh://deploy@web1:22", {host: web2}]
ssh: { user: deploy }
service: { manager: process, command: node s.js }
router: { type: nginx, nginx: { config_file: /etc/nginx/deployer/a.conf } }
analysis: { interval: 5s }
notifications: { webhook: { url: "https://x.example/hook" } }
`).manifest;
    // remote hosts and ssh are built (issue 5), nginx and HAProxy (issue 12): only what is not is named
    expect(unsupportedFeatures(m).map((i) => formatPath(i.path))).toEqual(['notifications.webhook']);
  });
});

describe('cross-field rules', () => {
  it('nginx and haproxy need their own section, take the runtime instances, and listen where their config says', () => {
    const proc = 'service: { manager: process, command: node s.js }\n';
    expect(oneIssue(`name: a\n${proc}router: { type: nginx }\n`)).toBe('deploy.yml:3: router.nginx: is required with `type: nginx`: config_file (the file Deployer owns, included by nginx.conf)');
    expect(oneIssue(`name: a\n${proc}router: { type: haproxy }\n`)).toBe('deploy.yml:3: router.haproxy: is required with `type: haproxy`: admin_socket and config_file');
    expect(oneIssue(`name: a\n${proc}router: { type: nginx, listen: 80, nginx: { config_file: /etc/n.conf } }\n`)).toBe('deploy.yml:3: router.listen: is used by `type: embedded` only: nginx listens where its own configuration says');
    expect(oneIssue('name: a\nservice: { manager: script, restart_command: ./r }\nrouter: { type: nginx, nginx: { config_file: /etc/n.conf } }\n')).toBe('deploy.yml:3: router.type: nginx is given the instances of `service.manager: process` as its servers; manager is "script"');
    expect(oneIssue(`name: a\n${proc}router: { type: embedded, listen: 80, haproxy: { admin_socket: /run/h.sock, config_file: /etc/h.cfg } }\n`)).toBe('deploy.yml:3: router.haproxy: is used by `type: haproxy` only (router type is "embedded")');
    expect(oneIssue(`name: a\n${proc}router: { type: nginx, nginx: { config_file: etc/n.conf } }\n`)).toBe('deploy.yml:3: router.nginx.config_file: expected an absolute path');
    expect(oneIssue(`name: a\ndeployment: { strategy: canary, canary: { header_route: { cookie: ab-test } } }\n${proc}router: { type: nginx, nginx: { config_file: /etc/n.conf } }\n`)).toBe(
      'deploy.yml:2: deployment.canary.header_route.cookie: nginx matches cookie names of letters, digits and _ only (router.type is "nginx")',
    );
  });

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

  it('refuses code fetched over plain http:// or git:// unless it is pinned or the manifest says insecure', () => {
    const sha = 'a'.repeat(64);
    const commit = 'b'.repeat(40);
    const src = (body: string) => `name: a\nsource:\n${body}`;
    // the manifest loads (rollback, status... work with what the hosts have); deploy and validate refuse
    const oneIssue = (text: string) => {
      const { fetchRefusals } = parse(text);
      expect(fetchRefusals).toHaveLength(1);
      return new ManifestError(fetchRefusals).message;
    };
    expect(oneIssue(src('  type: archive\n  url: http://dl.example/app.tar.gz\n'))).toBe(
      'deploy.yml:4: source.url: plain http:// is neither private nor authenticated, and hooks in the release run on every host: give `sha256` of the archive, use https://, or set `source.insecure: true`',
    );
    expect(oneIssue(src('  type: archive\n  path: HTTP://dl.example/app.zip\n'))).toMatch(/^deploy\.yml:4: source\.path: plain http:\/\/ /);
    expect(oneIssue(src('  type: git\n  url: git://git.example/r.git\n  branch: main\n'))).toBe(
      'deploy.yml:4: source.url: plain git:// is neither private nor authenticated, and hooks in the release run on every host: give a full commit id as `branch`/`ref` (git checks every object against it), use https:// or ssh, or set `source.insecure: true`',
    );
    expect(oneIssue(src('  type: git\n  url: http://git.example/r.git\n'))).toMatch(/^deploy\.yml:4: source\.url: plain http:\/\/ /);
    // an abbreviated commit id is not a pin: a branch could be named so
    expect(oneIssue(src(`  type: git\n  url: http://git.example/r.git\n  ref: ${commit.slice(0, 12)}\n`))).toMatch(/^deploy\.yml:4: source\.url: /);
    // pinned, private, or accepted on purpose: fine
    for (const ok of [
      `  type: archive\n  url: http://dl.example/app.tar.gz\n  sha256: ${sha}\n`,
      '  type: archive\n  url: https://dl.example/app.tar.gz\n',
      '  type: archive\n  url: ./app.tar.gz\n',
      '  type: archive\n  url: http://dl.example/app.tar.gz\n  insecure: true\n',
      `  type: git\n  url: git://git.example/r.git\n  branch: ${commit}\n`,
      `  type: git\n  url: http://git.example/r.git\n  ref: ${'c'.repeat(64)}\n`,
      '  type: git\n  url: git://git.example/r.git\n  insecure: true\n',
      '  type: git\n  url: git@git.example:r.git\n',
      '  type: git\n  url: https://git.example/r.git\n',
    ])
      expect(parse(src(ok)).fetchRefusals).toEqual([]);
    expect(parse(src('  type: archive\n  url: https://dl.example/app.tar.gz\n')).manifest.source.insecure).toBe(false);
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
      'router.type: strategy blue-green without a router (use `type: embedded`, `nginx` or `haproxy`) is not supported yet',
    ]);
    const ok = parse(`${base}deployment: { strategy: blue-green }\nrouter: { type: embedded, listen: 8080 }\n`).manifest;
    expect(unsupportedFeatures(ok)).toEqual([]);
  });
});
