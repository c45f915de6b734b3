// A sample app on Deployer's embedded runtime (`service.manager: process`, `router.type:
// embedded`): its source dir, a private DEPLOYER_HOME, free ports, the manifest, the CLI bound to
// them, and a cleanup that stops the runtime and proves by pid that nothing it started is left.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isGone } from '../../src/checks/test-support.js';
import { cli, type CliResult } from './cli.js';
import { RUNTIME_APP_SERVER } from './runtime-app-server.js';
import { freePort, get, waitFor } from './net.js';

export { RUNTIME_APP_SERVER } from './runtime-app-server.js';

export interface AppVariant {
  /** true: every instance; a list: only these instance ids (e.g. stable-2) */
  unhealthy?: boolean | string[];
  exitAtOnce?: boolean | string[];
  slowStartMs?: number;
  smokeFail?: boolean;
  /** percent of GET / answering 500 */
  failPercent?: number;
  /** added to every GET / */
  delayMs?: number;
}

const marker = (v: boolean | string[] | undefined): string | null => (v === true ? '1\n' : Array.isArray(v) ? `${v.join(' ')}\n` : null);

export interface ManifestOptions {
  strategy?: 'blue-green' | 'rolling' | 'recreate' | 'canary';
  instances?: number;
  /** blue_green.scale_down_delay (default 60s) */
  scaleDownDelay?: string;
  warmupRequests?: number;
  /** blue_green.smoke_tests on GET / (default true) */
  smoke?: boolean;
  rolling?: { batch_size?: number; batch_delay?: string; max_unavailable?: number; max_failures?: number; drain_timeout?: string };
  /** the health check's timeout (default 15s) */
  healthTimeout?: string;
  /** service.command; null leaves it out */
  command?: string | null;
  stopTimeout?: string;
  /** deployment.keep_failed_releases */
  keepFailed?: boolean;
  /** deployment.auto_rollback (default true) */
  autoRollback?: boolean;
  /** deployment.canary, as YAML lines under it (indented 4) */
  canary?: string;
  /** appended at the end */
  extra?: string;
}

export interface InstanceView {
  id: string;
  pool: string;
  port: number;
  release: string;
  pid: number | null;
  state: string;
  restarts: number;
  traffic: string;
  inFlight: number;
  lastError: string | null;
}

export interface AppView {
  name: string;
  listen: { host: string; port: number };
  weights: Record<string, number>;
  stopAt: Record<string, string>;
  instances: InstanceView[];
}

export interface RuntimeStatusJson {
  running: boolean;
  pid?: number;
  routerPid?: number | null;
  apps?: AppView[];
}

/** What the app answered on GET / (parsed), or null. */
export interface Answer {
  version: string;
  release: string | null;
  instance: string | null;
  pid: number;
}

export function parseAnswer(body: string): Answer | null {
  try {
    const j = JSON.parse(body) as Partial<Answer> & { ok?: boolean };
    return j.ok && typeof j.version === 'string' ? (j as Answer) : null;
  } catch {
    return null;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/**
 * A base port whose pool ranges (base.., base+100.., base+200..; `count` each) are free now.
 * Below the kernel's ephemeral range (32768+), so no client socket of the load can sit on them.
 */
export async function freeBasePort(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const ports = [0, 100, 200].flatMap((off) => Array.from({ length: count }, (_, i) => base + off + i));
    let ok = true;
    for (const p of ports) {
      if (!(await portFree(p))) {
        ok = false;
        break;
      }
    }
    if (ok) return base;
  }
  throw new Error('no free port range found');
}

/** Whether a live process has `DEPLOYER_HOME=home` in its environment (a reused pid does not). */
export function belongsToHome(pid: number, home: string): boolean {
  if (pid === process.pid) return false;
  try {
    return readFileSync(`/proc/${pid}/environ`).includes(Buffer.from(`DEPLOYER_HOME=${home}\0`)) && !isGone(pid);
  } catch {
    // gone, or not ours to read
    return false;
  }
}

/** The process group of a live process (the supervisor runs each instance as its own group), or null. */
export function processGroup(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

/** Processes whose environment holds `DEPLOYER_HOME=home`: everything the runtime of that home started. */
export function processesOfHome(home: string): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => belongsToHome(pid, home));
}

/** Listens on a loopback port (a program holding it), until closed. */
export async function occupy(port: number): Promise<Server> {
  const s = createServer((sock) => sock.destroy());
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, '127.0.0.1', resolve);
  });
  return s;
}

export function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** A workspace: app source, DEPLOYER_HOME, ports, manifest, CLI. */
export class RuntimeApp {
  readonly dir: string;
  readonly src: string;
  readonly home: string;
  basePort = 0;
  routerPort = 0;
  name = 'rtapp';
  /** every pid this test saw belong to the runtime (daemon, router, instances) */
  readonly seenPids = new Set<number>();

  private constructor() {
    // short: unix socket paths are limited to 107 bytes
    this.dir = realpathSync(mkdtempSync(join(tmpdir(), 'rt-')));
    this.src = join(this.dir, 'app');
    this.home = join(this.dir, 'h');
    mkdirSync(this.src, { recursive: true });
  }

  /** A workspace with free ports for `instances` per pool and the app at `version`. */
  static async create(version = 'v1', instances = 3): Promise<RuntimeApp> {
    const a = new RuntimeApp();
    a.basePort = await freeBasePort(instances);
    for (;;) {
      a.routerPort = await freePort();
      if (a.routerPort < a.basePort || a.routerPort > a.basePort + 300) break;
    }
    writeFileSync(join(a.src, 'server.js'), RUNTIME_APP_SERVER);
    a.setVersion(version);
    return a;
  }

  get appRoot(): string {
    return join(this.home, 'apps', this.name);
  }

  get runtimeDir(): string {
    return join(this.home, 'runtime');
  }

  /** Sets VERSION and the marker files of the variant (others removed). */
  setVersion(version: string, v: AppVariant = {}): void {
    writeFileSync(join(this.src, 'VERSION'), `${version}\n`);
    const markers: [string, string | null][] = [
      ['UNHEALTHY', marker(v.unhealthy)],
      ['EXIT_AT_ONCE', marker(v.exitAtOnce)],
      ['SLOW_START_MS', v.slowStartMs ? `${v.slowStartMs}\n` : null],
      ['SMOKE_FAIL', v.smokeFail ? '1\n' : null],
      ['FAIL_PERCENT', v.failPercent ? `${v.failPercent}\n` : null],
      ['DELAY_MS', v.delayMs ? `${v.delayMs}\n` : null],
    ];
    for (const [f, content] of markers) {
      if (content === null) rmSync(join(this.src, f), { force: true });
      else writeFileSync(join(this.src, f), content);
    }
  }

  manifestText(o: ManifestOptions = {}): string {
    const strategy = o.strategy ?? 'blue-green';
    const smoke = o.smoke === false ? '' : `smoke_tests: [{ url: "http://127.0.0.1:{port}/", body_contains: '"ok":true', timeout: 5s, interval: 100ms }], `;
    const r = { batch_size: 1, batch_delay: '0s', max_unavailable: 1, max_failures: 1, drain_timeout: '5s', ...o.rolling };
    const bg = `  blue_green: { ${smoke}warmup_requests: ${o.warmupRequests ?? 10}, scale_down_delay: ${o.scaleDownDelay ?? '60s'} }\n`;
    const rolling = `  rolling: { batch_size: ${r.batch_size}, batch_delay: ${r.batch_delay}, max_unavailable: ${r.max_unavailable}, max_failures: ${r.max_failures}, drain_timeout: ${r.drain_timeout} }\n`;
    const command = o.command === null ? '' : `command: ${o.command ?? 'node server.js'}, `;
    return `name: ${this.name}
source: { type: local, path: ./app }
deployment:
  strategy: ${strategy}
  keep_releases: 10
${o.keepFailed ? '  keep_failed_releases: true\n' : ''}${o.autoRollback === false ? '  auto_rollback: false\n' : ''}${strategy === 'blue-green' ? bg : ''}${strategy === 'rolling' ? rolling : ''}${strategy === 'canary' && o.canary ? `  canary:\n${o.canary}\n` : ''}service: { manager: process, ${command}instances: ${o.instances ?? 2}, base_port: ${this.basePort}, stop_timeout: ${o.stopTimeout ?? '5s'} }
router: { type: embedded, listen: ${this.routerPort}, health_interval: 200ms }
health_checks: [{ url: "http://127.0.0.1:{port}/health", timeout: ${o.healthTimeout ?? '15s'}, interval: 100ms }]
${o.extra ?? ''}`;
  }

  writeManifest(o: ManifestOptions = {}): string {
    const text = this.manifestText(o);
    writeFileSync(join(this.dir, 'deploy.yml'), text);
    return text;
  }

  env(): NodeJS.ProcessEnv {
    return { DEPLOYER_HOME: this.home, HOME: this.dir };
  }

  /** Runs the built CLI in the workspace (CI=true, this DEPLOYER_HOME). */
  run(args: string[], timeoutMs = 120_000): Promise<CliResult> {
    return cli(args, { cwd: this.dir, env: this.env(), timeoutMs });
  }

  deploy(timeoutMs = 120_000): Promise<CliResult> {
    return this.run(['deploy', '--json'], timeoutMs);
  }

  rollback(timeoutMs = 120_000): Promise<CliResult> {
    return this.run(['rollback', '--json'], timeoutMs);
  }

  /** `deployer status --json`: the host entry (with `runtime`). */
  async status(): Promise<Record<string, unknown> & { runtime?: AppView | null; current?: string | null }> {
    const r = await this.run(['status', '--json'], 60_000);
    if (r.code !== 0 || !r.json) throw new Error(`status failed (${r.code}): ${r.stderr}`);
    const host = (r.json.hosts as (Record<string, unknown> & { runtime?: AppView | null })[])[0]!;
    for (const i of host.runtime?.instances ?? []) if (i.pid) this.seenPids.add(i.pid);
    return host;
  }

  /** The app's pools and instances as `deployer status --json` shows them. */
  async view(): Promise<AppView> {
    const v = (await this.status()).runtime;
    if (!v) throw new Error('the app has no runtime view');
    return v;
  }

  /** `deployer runtime status --json`. */
  async runtimeStatus(): Promise<RuntimeStatusJson> {
    const r = await this.run(['runtime', 'status', '--json'], 60_000);
    if (r.code !== 0 || !r.json) throw new Error(`runtime status failed (${r.code}): ${r.stderr}`);
    const st = r.json as unknown as RuntimeStatusJson;
    if (st.pid) this.seenPids.add(st.pid);
    if (st.routerPid) this.seenPids.add(st.routerPid);
    for (const app of st.apps ?? []) for (const i of app.instances) if (i.pid) this.seenPids.add(i.pid);
    return st;
  }

  /** The daemon's lock record ({pid, start}), or null. */
  daemonLock(): { pid: number; start?: string } | null {
    const f = join(this.runtimeDir, 'daemon.lock');
    if (!existsSync(f)) return null;
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as { pid: number; start?: string };
    } catch {
      return null;
    }
  }

  /** One GET / on the router (fresh connection), parsed. */
  async answer(port = this.routerPort): Promise<Answer | null> {
    const r = await get(port, '/', 5000);
    return r.status === 200 ? parseAnswer(r.body) : null;
  }

  /** `n` fresh GETs on the router: the versions they answered (throws on any failure). */
  async versions(n = 20): Promise<Set<string>> {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) {
      const r = await get(this.routerPort, '/', 15_000);
      const a = parseAnswer(r.body);
      if (r.status !== 200 || !a) throw new Error(`router answered ${r.status}: ${r.body.slice(0, 200)}`);
      seen.add(a.version);
    }
    return seen;
  }

  /** Waits until the router serves only `version` (n requests in a row). */
  async waitServing(version: string, timeoutMs = 30_000): Promise<void> {
    await waitFor(async () => {
      const v = await this.versions(10);
      return v.size === 1 && v.has(version) ? true : undefined;
    }, `the router to serve only ${version}`, timeoutMs, 100);
  }

  /**
   * `deployer runtime stop`, then every process of this home (by its environment) or seen by the
   * test that is still alive is killed by pid. Returns the leftovers (empty: a clean stop).
   */
  async stopRuntime(): Promise<{ stop: CliResult; leftovers: number[] }> {
    const stop = await this.run(['runtime', 'stop'], 90_000);
    const candidates = new Set([...this.seenPids, ...processesOfHome(this.home)]);
    const leftovers = [...candidates].filter((pid) => belongsToHome(pid, this.home));
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone meanwhile
      }
    }
    return { stop, leftovers };
  }

  /** Stops everything (see stopRuntime) and removes the workspace. */
  async cleanup(): Promise<number[]> {
    const { leftovers } = await this.stopRuntime();
    // give the kernel a moment to reap what was killed, then remove the files
    await waitFor(() => (processesOfHome(this.home).length === 0 ? true : undefined), 'leftover processes to go', 10_000).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
    return leftovers;
  }
}
