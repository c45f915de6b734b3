// What a fleet deploy withstands, against real sshd hosts h4-h6 (this file alone uses them: it
// kills their sshd, which ends every process in the host's namespace). One host fails in each
// way; the rules hold on the others and nothing is left half-switched.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { BIN, type CliResult } from './support/cli.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostResults, useFleetApp, type FleetApp } from './support/fleet.js';
import { waitFor } from './support/net.js';
import { cutSessions, killSshd, knownHostsWithWrongKey, reviveHost, testHosts, type TestHost } from './support/ssh-hosts.js';

const apps: FleetApp[] = [];
afterAll(async () => {
  for (const i of [4, 5, 6]) await reviveHost(i);
  apps.forEach((a) => a.cleanup());
});

/**
 * A check that, on host5 only, once /srv/<name>-block exists there, takes it, says so and hangs
 * (so the test can kill the host or interrupt at that moment); every other run of it passes.
 */
const blockingCheck = (name: string, host = 'host5') =>
  `  - { type: command, command: "if [ \\"$(hostname)\\" = ${host} ] && rm /srv/${name}-block 2>/dev/null; then touch /srv/${name}-at-check; sleep 120; fi; exit 0", timeout: 150s, interval: 100ms }`;

const plainBody = (app: FleetApp, ssh = '') => `deployment: { strategy: recreate, app_root: ${app.appRoot} }
ssh: { config_file: ${testHosts().configFile}${ssh} }
service: { manager: none }
router: { type: none }
`;

function staticApp(name: string, extra = '', sshExtra = '', blockOn = 'host5'): FleetApp {
  const app = useFleetApp({
    name,
    hosts: [4, 5, 6],
    body: ({ appRoot, config }) => `deployment: { strategy: recreate, app_root: ${appRoot} }
ssh: { config_file: ${config}${sshExtra} }
service: { manager: none }
router: { type: none }
health_checks:
${blockingCheck(name, blockOn)}
${extra}`,
  });
  apps.push(app);
  return app;
}

/** Every host still on `release`, with no other release directory, no lock and no journal left. */
function unchanged(app: FleetApp, release: string, hosts = app.hosts): void {
  for (const h of hosts) {
    expect(app.current(h), h.name).toBe(release);
    expect(app.releases(h), h.name).toEqual([release]);
    expect(existsSync(app.onHost(h, `${app.appRoot}/.deploy_state/deploy.lock`)), `${h.name} lock`).toBe(false);
    expect(existsSync(app.onHost(h, `${app.appRoot}/.deploy_state/journal.json`)), `${h.name} journal`).toBe(false);
  }
}

describe('a host that cannot be reached: one clear error naming it, nothing changed anywhere', () => {
  let app: FleetApp;
  let v1 = '';
  beforeAll(async () => {
    app = staticApp('flf-conn');
    const r = await app.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    v1 = r.json!.release as string;
    app.bumpVersion();
  });

  it('a changed host key', async () => {
    const known = knownHostsWithWrongKey('h5');
    const other = staticApp('flf-key', '', `, options: { UserKnownHostsFile: ${known} }`);
    const r = await other.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('h5: its host key has changed since it was recorded in known_hosts; refusing to connect');
    expect(hostResults(r)).toMatchObject({ h4: { result: 'not_changed' }, h5: { result: 'unreachable' }, h6: { result: 'not_changed' } });
    for (const h of other.hosts) expect(other.current(h)).toBeNull();
    rmSync(dirname(known), { recursive: true, force: true });
  });

  it('a wrong user', async () => {
    // the same hosts, h5 reached as a user that does not exist there
    app.write(plainBody(app), '[h4, {host: h5, user: nobody}, h6]');
    const r = await app.run(['deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/h5: authentication failed \(nobody@10\.250\.0\.15: Permission denied/);
    unchanged(app, v1);
  });

  it('a host whose sshd is stopped', async () => {
    app.write(plainBody(app));
    await killSshd(6);
    try {
      const r = await app.run(['deploy']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('h6: connection refused: is sshd running on it?');
      expect(r.stderr).toContain('nothing was changed on any host');
      unchanged(app, v1, app.hosts.slice(0, 2));
    } finally {
      await reviveHost(6);
    }
    unchanged(app, v1);
  });

  it('a lock held on one host: exit 3, no other host touched', async () => {
    const lock = app.onHost(app.hosts[1]!, `${app.appRoot}/.deploy_state/deploy.lock`);
    // held by a live process of that host: its pid 1 (sshd)
    const now = new Date().toISOString();
    writeFileSync(lock, JSON.stringify({ deploy_id: 'dep_other', pid: 1, host: 'host5', user: 'someone', started: now, heartbeat: now, command: 'deploy' }));
    try {
      const r = await app.run(['deploy', '--json']);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('dep_other');
      expect(hostResults(r)).toMatchObject({ h4: { result: 'not_changed' }, h5: { result: 'not_changed' }, h6: { result: 'not_changed' } });
      for (const h of [app.hosts[0]!, app.hosts[2]!]) {
        expect(app.releases(h)).toEqual([v1]);
        expect(app.lastHistory(h)).toMatchObject({ release: v1 });
        expect(existsSync(app.onHost(h, `${app.appRoot}/.deploy_state/deploy.lock`))).toBe(false);
      }
    } finally {
      rmSync(lock, { force: true });
    }
    unchanged(app, v1);
  });

  it('a host without Node.js', async () => {
    app.write(plainBody(app, ', node: /nonexistent/node'));
    const r = await app.run(['deploy']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('h4: has no Node.js (`/nonexistent/node` is not on its PATH)');
    unchanged(app, v1);
  });
});

/**
 * Deploys v1 (with `first`), then the next version; once host5 hangs in its blocking check,
 * kills host5's sshd (its whole namespace) and returns how the deploy ended. Revives host5.
 */
async function killHost5During(app: FleetApp, name: string, first: string[] = ['deploy', '--json']): Promise<{ r: CliResult; v1: string }> {
  const r1 = await app.run(first);
  expect(r1.code, r1.stderr).toBe(0);
  const v1 = r1.json!.release as string;
  app.bumpVersion();
  const h5 = app.hosts[1]!;
  writeFileSync(app.onHost(h5, `/srv/${name}-block`), '');
  try {
    const deploying = app.run(['deploy', '--json']);
    await waitFor(() => existsSync(app.onHost(h5, `/srv/${name}-at-check`)) || undefined, 'host5 in its check', 60_000);
    await killSshd(5);
    return { r: await deploying, v1 };
  } finally {
    rmSync(app.onHost(h5, `/srv/${name}-block`), { force: true });
    await reviveHost(5);
  }
}

/** The two surviving hosts are on v1 and (with a router on `port`) serve it. */
async function survivorsOn(app: FleetApp, v1: string, port?: number): Promise<void> {
  for (const h of [app.hosts[0]!, app.hosts[2]!]) {
    expect(app.current(h)).toBe(v1);
    if (port) expect(JSON.parse(await app.curl(h, port))).toMatchObject({ version: '1.0.0' });
  }
}

describe("one host's sshd killed mid-deploy", () => {
  it('recreate: the hosts already switched are switched back; the dead host is reported; the next deploy recovers it', async () => {
    const app = staticApp('flf-rec');
    // host5 hangs in its check after the switch: h4 and h6 have switched and wait at the commit
    const { r, v1 } = await killHost5During(app, 'flf-rec');
    expect(r.code).toBe(1);
    expect(hostResults(r)).toMatchObject({ h4: { result: 'rolled_back', release: v1 }, h5: { result: 'unreachable' }, h6: { result: 'rolled_back', release: v1 } });
    // the cause is named once; the others are its consequence
    expect(r.json!.error).toBe('h5: the connection dropped (ssh exited 255 without a word)');
    unchanged(app, v1, [app.hosts[0]!, app.hosts[2]!]);
    // h5's interrupted deploy is undone by the next one, which then goes through everywhere
    const r2 = await app.run(['deploy', '--json']);
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.stderr).toContain('found an interrupted deploy');
    for (const h of app.hosts) expect(app.current(h)).toBe(r2.json!.release);
  });

  it('blue-green: a host lost before the switch means no host switches', async () => {
    const app = runtimeApp('flf-bg', 'blue-green', 4400);
    const { r, v1 } = await killHost5During(app, 'flf-bg');
    expect(r.code).toBe(1);
    expect(hostResults(r).h5!.result).toBe('unreachable');
    await survivorsOn(app, v1, 4400);
  });

  it('rolling: the updated hosts roll back, the rest are never touched', async () => {
    const app = runtimeApp('flf-roll', 'rolling', 4700);
    const { r, v1 } = await killHost5During(app, 'flf-roll', ['deploy', '--strategy', 'blue-green', '--json']);
    expect(r.code).toBe(1);
    expect(hostResults(r)).toMatchObject({ h4: { result: 'rolled_back' }, h5: { result: 'unreachable' }, h6: { result: 'not_changed' } });
    await survivorsOn(app, v1, 4700);
  });
});

/** `port`: the router's; blue from port + 10, green 100 above (each app its own: they share each host's runtime) */
describe('a network partition: the connection to one host is cut, the host stays up', () => {
  it('that host undoes its own switch when it finds the driver gone; the others are switched back', async () => {
    // host4 hangs in its check, so host5 waits at the commit when its connection is cut
    const app = staticApp('flf-cut', '', '', 'host4');
    const r1 = await app.run(['deploy', '--json']);
    expect(r1.code, r1.stderr).toBe(0);
    const v1 = r1.json!.release as string;
    app.bumpVersion();
    const [h4, h5] = app.hosts as [TestHost, TestHost, TestHost];
    writeFileSync(app.onHost(h4, '/srv/flf-cut-block'), '');
    try {
      const deploying = app.run(['deploy', '--json']);
      await waitFor(() => existsSync(app.onHost(h4, '/srv/flf-cut-at-check')) || undefined, 'host4 in its check', 60_000);
      // host5 has switched: it waits at the commit with the others
      await waitFor(() => (app.current(h5) !== v1 ? true : undefined), 'host5 switched', 30_000);
      expect(cutSessions(5)).toBeGreaterThan(0);
      const r = await deploying;
      expect(r.code).toBe(1);
      expect(hostResults(r)).toMatchObject({ h4: { result: 'rolled_back' }, h5: { result: 'unreachable' }, h6: { result: 'rolled_back' } });
      // the cut-off host found its driver gone at the commit and went back on its own
      await waitFor(() => (app.current(h5) === v1 && !existsSync(app.onHost(h5, `${app.appRoot}/.deploy_state/deploy.lock`)) ? true : undefined), 'host5 back on v1', 30_000);
      unchanged(app, v1);
      expect(app.lastHistory(h5)).toMatchObject({ result: 'rolled_back', error: expect.stringContaining('the connection to the machine driving the deploy was lost') });
    } finally {
      rmSync(app.onHost(h4, '/srv/flf-cut-block'), { force: true });
    }
  });
});

function runtimeApp(name: string, strategy: string, port: number): FleetApp {
  const app = useFleetApp({
    name,
    hosts: [4, 5, 6],
    server: true,
    body: ({ appRoot, config }) => `deployment:
  strategy: ${strategy}
  app_root: ${appRoot}
  blue_green: { scale_down_delay: 0s }
  rolling: { batch_delay: 0s, drain_timeout: 1s }
ssh: { config_file: ${config} }
service: { manager: process, command: node server.js, instances: 2, base_port: ${port + 10} }
router: { type: embedded, listen: ${port} }
health_checks:
  - { url: "http://127.0.0.1:{port}/health", timeout: 20s, interval: 100ms }
${blockingCheck(name)}
`,
  });
  apps.push(app);
  return app;
}

describe('Ctrl-C on the machine driving the deploy', () => {
  it('stops every host and undoes: the hosts that switched go back, none is left on the new release', async () => {
    const app = staticApp('flf-int');
    const r1 = await app.run(['deploy', '--json']);
    expect(r1.code, r1.stderr).toBe(0);
    const v1 = r1.json!.release as string;
    app.bumpVersion();
    const h5 = app.hosts[1]!;
    writeFileSync(app.onHost(h5, '/srv/flf-int-block'), '');
    try {
      // its own process group, which gets the SIGINT as a terminal's Ctrl-C sends it: to the whole group
      const child = spawn(process.execPath, [BIN, 'deploy', '--json'], { cwd: app.dir, env: { ...process.env, CI: 'true', DEPLOYER_HOME: app.home }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise<number | null>((r) => child.on('close', (c) => r(c)));
      await waitFor(() => existsSync(app.onHost(h5, '/srv/flf-int-at-check')) || undefined, 'h5 in its check', 60_000);
      process.kill(-child.pid!, 'SIGINT');
      expect(await exited, stderr).toBe(1);
      const hosts = Object.fromEntries((JSON.parse(stdout.trim().split('\n').pop()!) as { hosts: { host: string; result: string }[] }).hosts.map((h) => [h.host, h.result]));
      expect(hosts).toEqual({ h4: 'rolled_back', h5: 'rolled_back', h6: 'rolled_back' });
      unchanged(app, v1);
    } finally {
      rmSync(app.onHost(h5, '/srv/flf-int-block'), { force: true });
    }
  });
});

describe('hostile values never reach a shell unquoted', () => {
  it("an app_root and a version full of shell syntax are used as they are, and run nothing", async () => {
    // /tmp is shared by the hosts and this machine: a command run anywhere would show here
    const canary = `/tmp/flf-pwned-${process.pid}`;
    const root = `/srv/flf host's $(touch ${canary}) \`touch ${canary}\`;touch ${canary}`;
    const app = useFleetApp({
      name: 'flf-hostile',
      hosts: [4, 6],
      appRoot: root,
      body: ({ config }) => `deployment: { strategy: recreate, app_root: "${root.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}" }
ssh: { config_file: ${config} }
service: { manager: none }
router: { type: none }
`,
    });
    apps.push(app);
    const r = await app.run(['deploy', '--version', `1.0 $(touch ${canary}); touch ${canary}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    for (const h of app.hosts) expect(app.current(h)).toBe(r.json!.release);
    expect(existsSync(canary)).toBe(false);
    // a host name that would be an ssh option is refused before anything runs
    mkdirSync(join(app.dir, 'x'), { recursive: true });
    writeFileSync(join(app.dir, 'x', 'deploy.yml'), `name: x\nhosts: ["-oProxyCommand=touch ${canary}"]\n`);
    const bad = await app.run(['deploy', '-f', 'x/deploy.yml']);
    expect(bad.code).toBe(2);
    expect(existsSync(canary)).toBe(false);
  });
});
