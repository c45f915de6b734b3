// Every strategy to three real SSH hosts (network namespaces with their own sshd), driven by the
// built CLI: the release is staged here, rsynced, and every host switches together.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SshHost } from '../src/hosts/ssh.js';
import { parseHost } from '../src/hosts/targets.js';
import { sshSchema } from '../src/manifest/schema/hosts.js';
import { uploadTree } from '../src/fleet/upload.js';
import { hostResults, useFleetApp, type FleetApp } from './support/fleet.js';
import { testHosts } from './support/ssh-hosts.js';

const apps: FleetApp[] = [];
afterAll(() => apps.forEach((a) => a.cleanup()));
const track = (a: FleetApp) => (apps.push(a), a);

describe('recreate with no service manager, to three hosts', () => {
  const app = track(
    useFleetApp({
      name: 'flrec',
      hosts: [1, 2, 3],
      body: ({ appRoot, config }) => `deployment: { strategy: recreate, app_root: ${appRoot} }
ssh: { config_file: ${config}, parallel: 2 }
service: { manager: none }
router: { type: none }
hooks:
  build_local: ["hostname > BUILT_ON"]
  post_deploy:
    - { command: "echo migrated on $(hostname) >> ${appRoot}/../flrec-migrations.log", run_once: true }
    - "hostname > ${appRoot}/../flrec-host-$DEPLOY_HOST"
`,
    }),
  );
  let first = '';

  it('deploys the same release everywhere, runs a run_once hook on one host only, and reports each host', async () => {
    const r = await app.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    first = r.json!.release as string;
    expect(r.json!.result).toBe('succeeded');
    const hosts = hostResults(r);
    expect(Object.keys(hosts)).toEqual(['h1', 'h2', 'h3']);
    for (const h of app.hosts) {
      expect(hosts[h.name]).toMatchObject({ result: 'succeeded', release: first });
      expect(app.current(h)).toBe(first);
      expect(readFileSync(join(app.onHost(h, `${app.appRoot}/current`), 'index.html'), 'utf8')).toBe('v1\n');
      // built once, here (this machine's name), before the upload
      expect(readFileSync(join(app.onHost(h, `${app.appRoot}/current`), 'BUILT_ON'), 'utf8')).toBe(`${hostname()}\n`);
      // the host's own name, not this machine's: the hook ran there
      expect(readFileSync(app.onHost(h, `/srv/flrec-host-${h.name}`), 'utf8').trim()).toBe(`host${h.name.slice(1)}`);
      expect(app.lastHistory(h)).toMatchObject({ deploy_id: r.json!.deploy_id, release: first, result: 'succeeded', host: h.name });
      // the host flushed the uploaded release to its disk before switching to it
      const hostLog = readFileSync(app.onHost(h, `${app.appRoot}/.deploy_state/logs/${r.json!.deploy_id as string}.jsonl`), 'utf8');
      expect(hostLog).toContain(`"release ${first} flushed to disk (sync -f)`);
    }
    expect(readFileSync(app.onHost(app.hosts[0]!, '/srv/flrec-migrations.log'), 'utf8')).toBe('migrated on host1\n');
    expect(existsSync(app.onHost(app.hosts[1]!, '/srv/flrec-migrations.log'))).toBe(false);
    expect(existsSync(app.onHost(app.hosts[2]!, '/srv/flrec-migrations.log'))).toBe(false);
  });

  it('uploads only what changed: unchanged files are hard links to the previous release', async () => {
    app.bumpVersion();
    const r = await app.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const second = r.json!.release as string;
    expect(second).not.toBe(first);
    for (const h of app.hosts) {
      expect(app.current(h)).toBe(second);
      const a = statSync(app.onHost(h, `${app.appRoot}/releases/${first}/sub/data.txt`));
      const b = statSync(app.onHost(h, `${app.appRoot}/releases/${second}/sub/data.txt`));
      expect(b.ino).toBe(a.ino);
      expect(readFileSync(app.onHost(h, `${app.appRoot}/releases/${second}/index.html`), 'utf8')).toBe('v2\n');
      expect(hostResults(r)[h.name]).toMatchObject({ upload: { method: 'rsync' } });
      // nothing is left in the upload area
      expect(existsSync(app.onHost(h, `${app.appRoot}/.deploy_state/incoming/${second}`))).toBe(false);
    }
  });

  it('rolls every host back to the same release', async () => {
    const r = await app.run(['rollback', '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const h of app.hosts) expect(app.current(h)).toBe(first);
  });

  it('--hosts deploys to the named hosts only; an unknown name is a usage error', async () => {
    app.bumpVersion();
    const r = await app.run(['deploy', '--hosts', 'h2', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(Object.keys(hostResults(r))).toEqual(['h2']);
    expect(app.current(app.hosts[1]!)).toBe(r.json!.release);
    expect(app.current(app.hosts[0]!)).toBe(first);
    expect(app.current(app.hosts[2]!)).toBe(first);
    const bad = await app.run(['deploy', '--hosts', 'h9']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--hosts: h9 is not in the manifest');
  });

  it('status, releases and history answer for each host, from that host', async () => {
    const r = await app.run(['status', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const hosts = r.json!.hosts as { host: string; exit_code: number; result: { hosts: { current: string }[] } }[];
    expect(hosts.map((h) => h.host)).toEqual(['h1', 'h2', 'h3']);
    // h2 alone got the last deploy (--hosts h2 above)
    for (const [i, h] of hosts.entries()) expect(h.result.hosts[0]!.current).toBe(app.current(app.hosts[i]!));
    expect(hosts[1]!.result.hosts[0]!.current).not.toBe(hosts[0]!.result.hosts[0]!.current);
    const rel = await app.run(['releases', '--hosts', 'h3']);
    expect(rel.code, rel.stderr).toBe(0);
    expect(rel.stdout).toContain('── h3');
    expect(rel.stdout).not.toContain('── h1');
    expect(rel.stdout).toContain(first);
    const hist = await app.run(['history', '--json']);
    expect(hist.code, hist.stderr).toBe(0);
    expect((hist.json!.hosts as unknown[]).length).toBe(3);
  });

  it('--dry-run plans on every host and changes nothing', async () => {
    const before = app.hosts.map((h) => app.releases(h).join(','));
    const r = await app.run(['deploy', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((r.json!.hosts as { host: string }[]).map((h) => h.host)).toEqual(['h1', 'h2', 'h3']);
    expect(app.hosts.map((h) => app.releases(h).join(','))).toEqual(before);
  });
});

describe('the embedded runtime on every host', () => {
  const app = track(
    useFleetApp({
      name: 'flrt',
      hosts: [1, 2, 3],
      server: true,
      body: ({ appRoot, config }) => `deployment:
  strategy: blue-green
  app_root: ${appRoot}
  blue_green: { scale_down_delay: 30s }
  rolling: { batch_delay: 0s, drain_timeout: 2s }
  canary: { stages: [{ weight: 50, duration: 1s }] }
ssh: { config_file: ${config} }
service: { manager: process, command: node server.js, instances: 2, base_port: 4310 }
router: { type: embedded, listen: 4300 }
health_checks:
  - { url: "http://127.0.0.1:{port}/health", timeout: 20s, interval: 100ms }
analysis: { interval: 1s, min_requests: 5, on_inconclusive: proceed, metrics: [{ name: error_rate, max: 1 }] }
`,
    }),
  );
  const served = async () => Promise.all(app.hosts.map(async (h) => (JSON.parse(await app.curl(h, 4300)) as { version: string }).version));

  it('blue-green: every host serves the new version through its own router', async () => {
    const r = await app.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await served()).toEqual(['1.0.0', '1.0.0', '1.0.0']);
    app.bumpVersion();
    const r2 = await app.run(['deploy', '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(await served()).toEqual(['1.0.2', '1.0.2', '1.0.2']);
  });

  it('rolling: hosts in waves, each serving the new version', async () => {
    app.bumpVersion();
    const r = await app.run(['deploy', '--strategy', 'rolling']);
    expect(r.code, r.stderr).toBe(0);
    // one host at a time (max_unavailable 1): h2 starts only once h1 is through
    expect(r.stderr.indexOf('h2: updating')).toBeGreaterThan(r.stderr.indexOf('h1: updating'));
    expect(await served()).toEqual(['1.0.3', '1.0.3', '1.0.3']);
  });

  it('canary: every host walks the same stages and is promoted', async () => {
    app.bumpVersion();
    const r = await app.run(['deploy', '--strategy', 'canary']);
    expect(r.code, r.stderr).toBe(0);
    for (const h of ['h1', 'h2', 'h3']) expect(r.stderr).toMatch(new RegExp(`${h} +✔ canary 1/1: 50% of traffic`));
    expect(await served()).toEqual(['1.0.4', '1.0.4', '1.0.4']);
  });

  it('rollback: every host goes back at once', async () => {
    // to the slot kept warm (scale_down_delay 30 s: long enough that it is still there when the
    // rollback switches, whatever the machine's speed)
    const r = await app.run(['rollback']);
    expect(r.code, r.stderr).toBe(0);
    expect(await served()).toEqual(['1.0.3', '1.0.3', '1.0.3']);
  });
});

describe('upload', () => {
  it('falls back to one tar stream when a host has no rsync', async () => {
    const th = testHosts();
    const h = new SshHost(parseHost('h1'), { config: sshSchema.parse({ config_file: th.configFile }), controlDir: '/tmp' });
    const src = join(th.state, `..`, `dfl-tar-src-${process.pid}`);
    mkdirSync(join(src, 'a b'), { recursive: true });
    writeFileSync(join(src, 'a b', "it's.txt"), 'tar\n');
    const to = `/srv/fltar-${process.pid}/x y`;
    const r = await uploadTree(h, src, to, null, false);
    expect(r.method).toBe('tar');
    expect(readFileSync(join(th.hosts[0]!.srv, `fltar-${process.pid}/x y/a b/it's.txt`), 'utf8')).toBe('tar\n');
    rmSync(src, { recursive: true, force: true });
    rmSync(join(th.hosts[0]!.srv, `fltar-${process.pid}`), { recursive: true, force: true });
  });
});
