// A fleet app for integration tests: a manifest deploying to some of the namespaced SSH hosts
// (test/support/ssh-hosts.ts), its own short DEPLOYER_HOME here, and readers of each host's
// state through the host's private /srv seen from this machine.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cli, ROOT, type CliResult } from './cli.js';
import { closeMasters, sshRun, testHosts, type TestHost } from './ssh-hosts.js';

export interface FleetApp {
  dir: string;
  home: string;
  hosts: TestHost[];
  /** the app's root on every host, as the hosts see it */
  appRoot: string;
  run(args: string[], o?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<CliResult>;
  /** the release `current` points at on a host (read through its /srv), null when none */
  current(h: TestHost): string | null;
  releases(h: TestHost): string[];
  /** a path on the host, seen from this machine (under its /srv) */
  onHost(h: TestHost, path: string): string;
  /** an HTTP GET on the host itself (its loopback), through ssh */
  curl(h: TestHost, port: number, path?: string): Promise<string>;
  /** the newest history entry on a host */
  lastHistory(h: TestHost): Record<string, unknown> | null;
  /** rewrites the manifest from `deployment:` on; `hosts` replaces the host list's YAML */
  write(manifest: string, hosts?: string): void;
  bumpVersion(): void;
  cleanup(): void;
}

export interface FleetAppOptions {
  name: string;
  /** 1-based indexes of the test hosts */
  hosts: number[];
  /** the manifest from `deployment:` on: the test writes what it is about */
  body: (ctx: { appRoot: string; config: string }) => string;
  /** copy the example app (an HTTP server) rather than static files */
  server?: boolean;
  appRoot?: string;
}

export function useFleetApp(o: FleetAppOptions): FleetApp {
  const th = testHosts();
  const hosts = o.hosts.map((i) => th.hosts[i - 1]!);
  // short: the ControlMaster sockets live under DEPLOYER_HOME
  const dir = mkdtempSync('/tmp/dfl-');
  const home = join(dir, 'h');
  mkdirSync(home);
  const app = join(dir, 'app');
  if (o.server) cpSync(join(ROOT, 'examples/hello/app'), app, { recursive: true });
  else {
    mkdirSync(join(app, 'sub'), { recursive: true });
    writeFileSync(join(app, 'index.html'), 'v1\n');
    writeFileSync(join(app, 'sub/data.txt'), 'data\n');
  }
  const appRoot = o.appRoot ?? `/srv/${o.name}`;
  // hosts another run brought up (and still uses) keep what an earlier run of this app left in
  // their /srv: its app root and the files its hooks wrote beside it (<name>-*)
  for (const h of hosts) {
    for (const e of existsSync(h.srv) ? readdirSync(h.srv) : []) if (e === o.name || e.startsWith(`${o.name}-`)) rmSync(join(h.srv, e), { recursive: true, force: true });
  }
  const write = (body: string, list = `[${hosts.map((h) => h.name).join(', ')}]`) =>
    writeFileSync(join(dir, 'deploy.yml'), `name: ${o.name}\nsource: { type: local, path: ./app }\nhosts: ${list}\n${body}`);
  write(o.body({ appRoot, config: th.configFile }));
  const onHost = (h: TestHost, path: string) => {
    if (!path.startsWith('/srv/')) throw new Error(`${path} is not under /srv`);
    return join(h.srv, path.slice('/srv/'.length));
  };
  let version = 1;
  return {
    dir,
    home,
    hosts,
    appRoot,
    run: (args, ro = {}) => cli(args, { cwd: dir, env: { DEPLOYER_HOME: home, ...ro.env }, timeoutMs: ro.timeoutMs ?? 120_000 }),
    current: (h) => {
      try {
        return basename(readlinkSync(onHost(h, `${appRoot}/current`)));
      } catch {
        return null;
      }
    },
    releases: (h) => {
      const d = onHost(h, `${appRoot}/releases`);
      return existsSync(d) ? readdirSync(d).sort() : [];
    },
    onHost,
    curl: async (h, port, path = '/') => {
      const r = await sshRun(h, `node -e 'fetch("http://127.0.0.1:${port}${path}").then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.error(String(e));process.exit(1)})'`);
      return r.code === 0 ? r.stdout : `error: ${r.stderr.trim()}`;
    },
    lastHistory: (h) => {
      const f = onHost(h, `${appRoot}/.deploy_state/history.jsonl`);
      if (!existsSync(f)) return null;
      const lines = readFileSync(f, 'utf8').trim().split('\n');
      return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    },
    write: (manifest, list) => write(manifest, list),
    bumpVersion: () => {
      version++;
      if (o.server) {
        const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as { version: string };
        pkg.version = `1.0.${version}`;
        writeFileSync(join(app, 'package.json'), JSON.stringify(pkg));
      } else writeFileSync(join(app, 'index.html'), `v${version}\n`);
    },
    cleanup: () => {
      // the ssh master connections this app's deploys opened (ControlPersist) end with it
      closeMasters(join(home, 'cm'));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The hosts' part of a fleet --json result. */
export function hostResults(r: CliResult): Record<string, { result: string; release: string | null; error?: string }> {
  const hosts = (r.json?.hosts ?? []) as { host: string; result: string; release: string | null; error?: string }[];
  return Object.fromEntries(hosts.map((h) => [h.host, h]));
}
