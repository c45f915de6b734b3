// router.type nginx: the user's nginx fronts the app. Deployer owns one included file (upstreams,
// routes as maps, a JSON log_format); every change writes it atomically, runs test_command, and
// only then reload_command. A refused file (or a failed reload) is replaced by the previous one.
// The file carries Deployer's state as a comment line, so a new process picks up where the last
// one stopped. A reload is confirmed by watching nginx's workers: the switch is done when the new
// generation runs and the old one stopped accepting; a drain is done when the old one has exited.
import { basename, dirname, join } from 'node:path';
import { RouterError } from '../errors.js';
import type { RunResult } from '../util/process.js';
import { AccessLogReader } from './nginx-access-log.js';
import { nginxShellCommand, processListCommand } from './nginx-commands.js';
import { emptyNginxState, parseNginxState, renderNginxConfig, serverAddress, type NginxState } from './nginx-config.js';
import { declareEdit, drainEdit, enableEdit, weightsEdit } from './nginx-edits.js';
import { previewNginx } from './nginx-preview.js';
import { oldWorkersLeft, parseNginxProcesses, reloadedMasters, type NginxProcesses } from './nginx-processes.js';
import { foldPreviews } from './preview.js';
import { TrafficAccumulator } from './traffic-accumulator.js';
import type { LiveRouting, PoolTargets, PoolTraffic, RouteRule, Router, RouterAction, RouterActionPreview, RouterCapabilities, RouterDeps } from './types.js';

export interface NginxRouterConfig {
  config_file: string;
  upstream: string;
  test_command: string;
  reload_command: string;
  access_log?: string;
}

/** How long test_command / reload_command may run. */
const COMMAND_TIMEOUT_MS = 60_000;
/** How long nginx gets to show a new worker generation after reload_command returned. */
const RELOAD_CONFIRM_MS = 5_000;
/** between two looks at nginx's processes (a `ps` each) while a reload or a drain completes */
/** What the kept file holds when there was no file before the change. */
const NO_FILE = '# deployer: there was no file before this change\n';
const POLL_MS = 20;

const tail = (r: RunResult): string => {
  const text = `${r.stderr}\n${r.stdout}`.trim();
  const why = r.spawnError ? r.spawnError.message : r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit ${r.code}`;
  return `${why}${text ? `: ${text.split('\n').slice(-6).join('\n').slice(-1500)}` : ''}`;
};

export class NginxRouter implements Router {
  readonly kind = 'nginx' as const;
  readonly capabilities: RouterCapabilities;
  private readonly log: AccessLogReader | null;
  private readonly counters = new TrafficAccumulator();
  /** one change at a time: each is read, render, write, test, reload */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly cfg: NginxRouterConfig,
    private readonly deps: RouterDeps,
  ) {
    const metrics = cfg.access_log !== undefined;
    this.capabilities = { weights: true, routes: true, drain: true, counts: metrics, latency: metrics };
    this.log = cfg.access_log === undefined ? null : new AccessLogReader(deps.transport.fs, cfg.access_log);
  }

  async init(): Promise<{ file: string; written: boolean }> {
    const file = this.cfg.config_file;
    const fs = this.deps.transport.fs;
    await fs.mkdirp(dirname(file));
    const written = await fs.createExclusive(file, renderNginxConfig(emptyNginxState(), this.cfg.upstream, this.deps.app));
    return { file, written };
  }

  async declarePools(pools: PoolTargets[]): Promise<void> {
    await this.change((s) => declareEdit(s, pools));
  }

  async setWeights(weights: Record<string, number>): Promise<void> {
    await this.change((s) => weightsEdit(s, weights, this.cfg.config_file));
  }

  async setRoutes(routes: RouteRule[]): Promise<void> {
    await this.change((s) => ({ ...s, routes: routes.map((r) => ({ ...r })) }));
  }

  async drain(targetId: string, timeoutMs: number): Promise<void> {
    const deadline = this.deps.clock.monotonic() + timeoutMs;
    const reload = await this.change((s) => drainEdit(s, targetId, this.cfg.config_file));
    // the workers that existed before the reload hold the target's in-flight requests; they exit
    // when those are done. With no nginx visible here (another pid namespace) nobody can tell:
    // the whole drain time is given, as a stop must not cut requests still in flight
    if (reload.masters.length === 0) {
      await this.deps.clock.sleep(Math.max(0, deadline - this.deps.clock.monotonic()));
      return;
    }
    for (;;) {
      const now = await this.processes();
      if (now === null || oldWorkersLeft(reload.before, now, reload.masters).length === 0) return;
      if (this.deps.clock.monotonic() >= deadline) return;
      await this.deps.clock.sleep(POLL_MS);
    }
  }

  async enable(targetId: string): Promise<void> {
    await this.change((s) => enableEdit(s, targetId, this.cfg.config_file));
  }

  async live(): Promise<LiveRouting | null> {
    const s = await this.read();
    if (s === null) return null;
    const down = new Set(s.down);
    return {
      pools: s.pools.map((p) => ({
        name: p.name,
        weight: s.weights[p.name] ?? 0,
        targets: p.targets.map((t) => ({ ...t, state: down.has(t.id) ? 'down' : 'ready', health: null })),
      })),
      routes: s.routes,
      where: `nginx upstream ${this.cfg.upstream} (${this.cfg.config_file})`,
    };
  }

  async traffic(): Promise<Record<string, PoolTraffic>> {
    if (this.log === null) throw new RouterError('router.nginx.access_log', 'not set: Deployer has no per-pool counts from nginx without its access log');
    const s = (await this.read()) ?? emptyNginxState();
    const byAddr = new Map<string, string>();
    for (const p of s.pools) for (const t of p.targets) byAddr.set(serverAddress(t), p.name);
    for (const r of await this.log.read((addr) => byAddr.get(addr))) this.counters.record(r);
    return this.counters.snapshot(s.pools.map((p) => p.name));
  }

  async preview(actions: RouterAction[]): Promise<RouterActionPreview[]> {
    const start = (await this.read()) ?? emptyNginxState();
    return foldPreviews(start, actions, (s, a) => previewNginx(this.cfg, s, a));
  }


  /** The state nginx last accepted: the kept file while a change is (or was, until a crash) being tested. */
  private async read(): Promise<NginxState | null> {
    const { fs } = this.deps.transport;
    const kept = await fs.readText(this.keptFile);
    const text = kept !== null ? (kept === NO_FILE ? null : kept) : await fs.readText(this.cfg.config_file);
    if (text === null) return null;
    return parseNginxState(text, this.cfg.config_file);
  }

  /** One change, after the ones before it: read the file, apply `edit`, write, test, reload. */
  private change(edit: (s: NginxState) => NginxState): Promise<Reloaded> {
    const run = this.queue.then(() => this.apply(edit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Where the file as nginx last accepted it waits while a change is tested: a crash meanwhile leaves it to restore. */
  private get keptFile(): string {
    return join(dirname(this.cfg.config_file), `.${basename(this.cfg.config_file)}.deployer-prev`);
  }

  /** A change interrupted between writing the file and its reload (kill -9): the file nginx last accepted goes back. */
  private async restoreInterrupted(): Promise<void> {
    const { fs } = this.deps.transport;
    const kept = await fs.readText(this.keptFile);
    if (kept === null) return;
    if (kept === NO_FILE) await fs.remove(this.cfg.config_file);
    else await fs.writeAtomic(this.cfg.config_file, kept);
    await fs.remove(this.keptFile);
  }

  private async apply(edit: (s: NginxState) => NginxState): Promise<Reloaded> {
    const { fs } = this.deps.transport;
    const file = this.cfg.config_file;
    await this.restoreInterrupted();
    const previous = await fs.readText(file);
    const current = previous === null ? emptyNginxState() : parseNginxState(previous, file);
    const next = edit(structuredClone(current));
    const text = renderNginxConfig(next, this.cfg.upstream, this.deps.app);
    const restore = async () => {
      if (previous === null) await fs.remove(file);
      else await fs.writeAtomic(file, previous);
      await fs.remove(this.keptFile);
    };
    // a refused file is never left in place, not even by a crash before the test: what nginx
    // accepted is kept beside it until the reload took (restoreInterrupted)
    await fs.writeAtomic(this.keptFile, previous ?? NO_FILE);
    await fs.writeAtomic(file, text);
    // the process list before the reload is taken while nginx tests the file (one spawn less on
    // the way to the switch); a test process is no master (masters are named by their title)
    const [test, before] = await Promise.all([this.run(this.cfg.test_command), this.processes()]);
    if (test.code !== 0 || test.timedOut || test.spawnError) {
      await restore();
      throw new RouterError('router.nginx.test_command', `nginx refused the new configuration (${file} is back as it was, nginx was not reloaded): ${tail(test)}`);
    }
    const reload = await this.run(this.cfg.reload_command);
    if (reload.code !== 0 || reload.timedOut || reload.spawnError) {
      await restore();
      throw new RouterError('router.nginx.reload_command', `failed (${file} is back as it was): ${tail(reload)}`);
    }
    const masters = await this.confirmReload(before);
    if (masters === null) {
      await restore();
      throw new RouterError(
        'router.nginx.reload_command',
        `ran, but no nginx master started new workers within ${RELOAD_CONFIRM_MS / 1000}s: the new configuration is not live (see nginx's error log); ${file} is back as it was`,
      );
    }
    await fs.remove(this.keptFile);
    return { before: before ?? new Map(), masters };
  }

  /** The masters that reloaded (empty: no nginx visible here, nothing to wait for), or null when none did in time. */
  private async confirmReload(before: NginxProcesses | null): Promise<number[] | null> {
    if (before === null || ![...before.values()].some((w) => w.length > 0)) return [];
    const deadline = this.deps.clock.monotonic() + RELOAD_CONFIRM_MS;
    for (;;) {
      const now = await this.processes();
      if (now === null) return [];
      const masters = reloadedMasters(before, now);
      if (masters.length > 0) return masters;
      if (this.deps.clock.monotonic() >= deadline) return null;
      await this.deps.clock.sleep(POLL_MS);
    }
  }

  /** nginx masters and workers on the host; null when the process list cannot be read. */
  private async processes(): Promise<NginxProcesses | null> {
    const r = await this.deps.transport.exec(processListCommand(), { timeoutMs: 10_000 });
    return r.code === 0 ? parseNginxProcesses(r.stdout) : null;
  }

  private run(command: string): Promise<RunResult> {
    return this.deps.transport.exec(nginxShellCommand(command), { timeoutMs: COMMAND_TIMEOUT_MS });
  }
}

interface Reloaded {
  /** nginx's processes just before the reload */
  before: NginxProcesses;
  /** the masters that reloaded */
  masters: number[];
}
