import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { PRIVATE_FILE, privateDirSync } from '../util/private-files.js';
import { fileURLToPath } from 'node:url';
import { DeployFailed, HealthCheckFailed, UsageError } from '../errors.js';
import { localProcessAlive } from '../hosts/local.js';
import type { AppConfig, AppView } from './daemon/daemon.js';
import type { AppTraffic, InstanceSpec, InstanceStatus, RouteRule } from './model.js';
import { MAX_SOCKET_PATH, runtimePaths, type RuntimePaths } from './paths.js';
import { callUnix, ControlApiError, type CallOptions } from './unix-json.js';

export type { AppConfig, AppView } from './daemon/daemon.js';

export interface RuntimeStatus {
  pid: number;
  routerPid: number | null;
  apps: AppView[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const notListening = (e: unknown) => ['ENOENT', 'ECONNREFUSED', 'ENOTSOCK'].includes((e as NodeJS.ErrnoException).code ?? '');

/** The CLI's side of the runtime daemon's control API. */
export class RuntimeClient {
  /**
   * @param home when set, a daemon that went away (killed, restarted) is started again and the
   * call is made once more: every call is safe to repeat, and the new daemon restores the state.
   */
  constructor(
    readonly paths: RuntimePaths,
    private readonly home?: string,
  ) {}

  async call<T>(method: string, path: string, body?: unknown, opts: CallOptions = {}): Promise<T> {
    const once = () => callUnix<T>(this.paths.control, method, path, body, { timeoutMs: 60_000, ...opts });
    try {
      return await once();
    } catch (e) {
      if (!this.home || !(notListening(e) || (e as NodeJS.ErrnoException).code === 'ECONNRESET')) throw e;
      await ensureRuntime(this.home);
      return once();
    }
  }

  private appPath(app: string, rest = ''): string {
    return `/apps/${encodeURIComponent(app)}${rest}`;
  }

  status(): Promise<RuntimeStatus> {
    return this.call('GET', '/status');
  }
  app(app: string): Promise<AppView | null> {
    return this.call<AppView>('GET', this.appPath(app)).catch((e: unknown) => {
      if (e instanceof ControlApiError && e.status === 404) return null;
      throw e;
    });
  }
  putApp(app: string, config: AppConfig): Promise<AppView> {
    return this.call('PUT', this.appPath(app), config);
  }
  removeApp(app: string): Promise<void> {
    return this.call('DELETE', this.appPath(app));
  }
  /** hold: the router checks them, but they get no traffic until `release` */
  startInstances(app: string, instances: InstanceSpec[], hold = false): Promise<InstanceStatus[]> {
    return this.call('POST', this.appPath(app, '/instances'), { instances, hold });
  }
  release(app: string, id: string): Promise<unknown> {
    return this.call('POST', this.appPath(app, `/instances/${encodeURIComponent(id)}/release`), {});
  }
  /** Back on hold: out of rotation, resolving once its in-flight requests are done (or timeoutMs, default the app's drain timeout). */
  hold(app: string, id: string, timeoutMs?: number): Promise<{ drained: boolean; inFlight: number; waitedMs: number }> {
    return this.call('POST', this.appPath(app, `/instances/${encodeURIComponent(id)}/hold`), timeoutMs === undefined ? {} : { timeoutMs }, { timeoutMs: (timeoutMs ?? 15 * 60_000) + 15_000 });
  }
  stopInstances(app: string, ids: string[], drain = true): Promise<AppView> {
    return this.call('POST', this.appPath(app, '/instances/stop'), { ids, drain }, { timeoutMs: 15 * 60_000 });
  }
  /** only: every pool not named gets 0, in the same update (a daemon older than this option refuses it: 400) */
  setWeights(app: string, weights: Record<string, number>, only = false): Promise<AppView> {
    return this.call('POST', this.appPath(app, '/weights'), only ? { weights, only } : { weights });
  }
  /** Replaces the app's header/cookie routes (first match wins); kept when putApp replaces the config. */
  setRoutes(app: string, routes: RouteRule[]): Promise<AppView> {
    return this.call('PUT', this.appPath(app, '/routes'), { routes });
  }
  /** Each pool's cumulative request counters and latency histogram, with its newest latency samples (read together). */
  traffic(app: string): Promise<AppTraffic> {
    return this.call('GET', this.appPath(app, '/traffic'));
  }
  waitHealthy(app: string, id: string, timeoutMs: number): Promise<{ healthy: boolean; detail: string; logTail?: string }> {
    return this.call('POST', this.appPath(app, `/instances/${encodeURIComponent(id)}/wait-healthy`), { timeoutMs }, { timeoutMs: timeoutMs + 15_000 });
  }
  /** Waits for every instance; HealthCheckFailed naming the ones that are not healthy, with the end of their logs. */
  async waitAllHealthy(app: string, ids: string[], timeoutMs: number): Promise<void> {
    const results = await Promise.all(ids.map(async (id) => ({ id, ...(await this.waitHealthy(app, id, timeoutMs)) })));
    const bad = results.filter((r) => !r.healthy);
    if (bad.length === 0) return;
    const tails = bad.filter((b) => b.logTail?.trim()).map((b) => `--- last lines of ${b.id}'s log ---\n${b.logTail!.trimEnd()}`);
    throw new HealthCheckFailed([bad.map((b) => b.detail).join('; '), ...tails].join('\n'));
  }
  stopPoolAfter(app: string, pool: string, delayMs: number | null): Promise<AppView> {
    return this.call('POST', this.appPath(app, `/pools/${encodeURIComponent(pool)}/stop-after`), { delayMs });
  }
  metrics(format: 'json' | 'prometheus' = 'json'): Promise<unknown> {
    return this.call('GET', format === 'prometheus' ? '/metrics?format=prometheus' : '/metrics');
  }
  setMetricsListen(addr: string | null): Promise<unknown> {
    return this.call('PUT', '/settings', { metricsListen: addr });
  }
}

/** What the daemon runs with: the basics of a login environment, nothing else from the caller's shell. */
export function daemonEnv(home: string, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR'];
  return { ...Object.fromEntries(keep.filter((k) => from[k] !== undefined).map((k) => [k, from[k]])), DEPLOYER_HOME: home };
}

/** The daemon's bundle: beside the CLI's in dist/ (or dist/ itself, when this runs from src/). */
export function daemonScript(): string {
  const bundled = fileURLToPath(new URL('./runtimed.js', import.meta.url));
  const fromSource = fileURLToPath(new URL('../../dist/runtimed.js', import.meta.url));
  return existsSync(bundled) || !existsSync(fromSource) ? bundled : fromSource;
}

/** The running daemon's client, or null when none answers. */
export async function connectRuntime(home: string, opts: { restart?: boolean } = {}): Promise<RuntimeClient | null> {
  const paths = runtimePaths(home);
  try {
    await callUnix(paths.control, 'GET', '/status', undefined, { timeoutMs: 10_000 });
    return new RuntimeClient(paths, opts.restart ? home : undefined);
  } catch (e) {
    if (notListening(e)) return null;
    throw e;
  }
}

/** Connects to the daemon, starting it (detached, outliving this process) when none runs. */
export async function ensureRuntime(home: string, opts: { timeoutMs?: number } = {}): Promise<{ client: RuntimeClient; started: boolean }> {
  const running = await connectRuntime(home, { restart: true });
  if (running) return { client: running, started: false };
  const paths = runtimePaths(home);
  if (paths.control.length > MAX_SOCKET_PATH) throw new UsageError(`the runtime's socket path ${paths.control} is too long for a unix socket (at most ${MAX_SOCKET_PATH} bytes)`, { hint: 'set DEPLOYER_HOME to a shorter directory' });
  const script = daemonScript();
  if (!existsSync(script)) throw new DeployFailed(`${script} is missing`, { hint: 'build Deployer first (npm run build)' });
  privateDirSync(home);
  privateDirSync(paths.dir);
  const fd = openSync(paths.daemonLog, 'a', PRIVATE_FILE);
  try {
    // the daemon (and every instance it starts) gets a clean environment, not this shell's
    const child = spawn(process.execPath, [script, '--home', home], { detached: true, stdio: ['ignore', fd, fd], env: daemonEnv(home) });
    child.unref();
  } finally {
    closeSync(fd);
  }
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (Date.now() < deadline) {
    const c = await connectRuntime(home, { restart: true });
    if (c) return { client: c, started: true };
    await sleep(50);
  }
  throw new DeployFailed(`the runtime daemon did not start within ${opts.timeoutMs ?? 15_000} ms`, { hint: `see ${paths.daemonLog}` });
}

/** Stops the daemon, the router and every instance. False when none was running. */
export async function stopRuntime(home: string): Promise<boolean> {
  const c = await connectRuntime(home);
  if (!c) return false;
  const { pid } = await c.call<{ pid: number }>('POST', '/shutdown', {});
  // the daemon stops answering at once; it is done when its process has stopped the rest and exited
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!localProcessAlive({ pid })) return true;
    await sleep(50);
  }
  throw new Error('the runtime daemon did not stop within 60 s');
}
