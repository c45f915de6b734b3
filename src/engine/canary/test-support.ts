// Test doubles for the canary stages (weights update, then analysis loop): a clock whose time moves only when the code under test
// waits on nothing but it, a router that counts each pool's traffic in memory, and a RunContext
// wired to both on a temporary app directory (the status and command files are real files).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from '../../analysis/test-support.js';
import { LocalTransport } from '../../hosts/local.js';
import type { HostFs, Transport } from '../../hosts/transport.js';
import { parseManifest } from '../../manifest/load.js';
import type { PlannedStep, Step } from '../../plan/steps.js';
import { AppLayout } from '../../release/layout.js';
import type { LiveRouting, PoolTraffic, Router, RouterCapabilities, RouteRule } from '../../routers/types.js';
import type { InstanceManager } from '../../services/instance-manager.js';
import { readCanaryStatus, writeCanaryCommand, type CanaryCommand, type CanaryStatus } from '../../state/canary.js';
import { Redactor } from '../../state/redact.js';
import type { Clock } from '../../util/clock.js';
import type { RunContext } from '../context.js';
import type { RunEvent } from '../events.js';
import { NEW, OLD, plan } from '../test-support.js';
import type { CanarySession } from './session.js';

export type Stage = Extract<Step, { kind: 'canary_analysis' }>;

/** The weights update that comes before a stage's analysis in a plan. */
export const weightsOf = (s: Stage): PlannedStep => ({
  step: { kind: 'set_weights', weights: { [s.pool]: s.weight, [s.baseline.pool]: 100 - s.weight }, previous: { [s.pool]: 0, [s.baseline.pool]: 100 }, stage: s.stage },
  onError: 'abort',
  live: true,
  trial: true,
});

/** What `now()` says at monotonic 0. */
export const EPOCH = 1_700_000_000_000;
export const CANARY = 'green';
export const BASELINE = 'blue';

/**
 * Virtual time. sleep(ms) sets a timer at now+ms; time jumps to the earliest timer only when the
 * code under test waits on nothing else: no tracked I/O in flight and (the check being a
 * macrotask) no microtask left. So a sleep that loses a race does not move time while the winner
 * goes on, and every run sees the same instants. `onAdvance(from, to)` runs (and is awaited)
 * before the timers due at `to` fire: the test adds traffic and leaves commands there.
 */
export class ManualClock implements Clock {
  private t = 0;
  private timers: { at: number; fire: () => void }[] = [];
  private io = 0;
  private checkQueued = false;
  private advancing = false;
  private stopped = false;
  onAdvance: (from: number, to: number) => void | Promise<void> = () => {};

  now(): Date {
    return new Date(EPOCH + this.t);
  }
  monotonic(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((fire) => {
      this.timers.push({ at: this.t + Math.max(0, ms), fire });
      this.check();
    });
  }
  /** Time stands still until `p` settles (file I/O of the code under test). */
  track<T>(p: Promise<T>): Promise<T> {
    this.io++;
    return p.finally(() => {
      this.io--;
      this.check();
    });
  }
  /** No more time passes (for the end of a test: a sleep that lost a race stays asleep). */
  stop(): void {
    this.stopped = true;
    this.timers = [];
  }

  private check(): void {
    if (this.checkQueued || this.stopped) return;
    this.checkQueued = true;
    setImmediate(() => {
      this.checkQueued = false;
      void this.advance();
    });
  }

  private async advance(): Promise<void> {
    if (this.advancing || this.stopped || this.io > 0 || this.timers.length === 0) return;
    this.advancing = true;
    const from = this.t;
    const to = Math.min(...this.timers.map((s) => s.at));
    this.t = to;
    try {
      await this.onAdvance(from, to);
    } finally {
      this.advancing = false;
    }
    const due = this.timers.filter((s) => s.at <= to);
    this.timers = this.timers.filter((s) => s.at > to);
    for (const s of due) s.fire();
    this.check();
  }
}

/** The local transport, its file operations tracked by `clock`. */
export function clockedTransport(clock: ManualClock): Transport {
  const local = new LocalTransport();
  const fs = Object.fromEntries(
    Object.entries(local.fs).map(([name, fn]) => [name, (...args: unknown[]) => clock.track((fn as (...a: unknown[]) => Promise<unknown>)(...args))]),
  ) as unknown as HostFs;
  return Object.assign(Object.create(local) as LocalTransport, { fs });
}

/** Traffic per virtual second over all pools (split by the weights), and the canary's share of 5xx. */
export interface Load {
  rps: number;
  fail?: number;
}
export const GOOD: Load = { rps: 1000 };
export const BAD: Load = { rps: 1000, fail: 0.5 };
export const QUIET: Load = { rps: 0 };

/** The router as the stage sees it: weights recorded, traffic counted per pool in memory. */
export class FakeRouter implements Router {
  readonly kind = 'embedded' as const;
  readonly capabilities: RouterCapabilities = { weights: true, routes: true, drain: true, counts: true, latency: true };
  readonly weightCalls: Record<string, number>[] = [];
  weights: Record<string, number> = { [CANARY]: 0, [BASELINE]: 100 };
  readonly pools: Record<string, Pool> = { [CANARY]: new Pool(), [BASELINE]: new Pool() };
  /** traffic() calls waiting for release() */
  private waiting: (() => void)[] = [];
  private holding = false;

  async live(): Promise<LiveRouting> {
    const pool = (name: string, release: string, port: number) => ({
      name,
      weight: this.weights[name] ?? 0,
      targets: [{ id: `${name}-0`, host: '127.0.0.1', port, release, state: 'ready' as const, health: 'healthy' as const }],
    });
    return { pools: [pool(BASELINE, OLD, 3000), pool(CANARY, NEW, 3001)], routes: [], where: '127.0.0.1:8080' };
  }
  async declarePools(): Promise<void> {}
  async setWeights(weights: Record<string, number>): Promise<void> {
    this.weightCalls.push({ ...weights });
    this.weights = { ...this.weights, ...weights };
  }
  async setRoutes(_routes: RouteRule[]): Promise<void> {}
  async drain(): Promise<void> {}
  async enable(): Promise<void> {}
  /** The pools' counters now; while held, as they are when released. */
  traffic(): Promise<Record<string, PoolTraffic>> {
    const read = (): Record<string, PoolTraffic> => Object.fromEntries(Object.entries(this.pools).map(([k, p]) => [k, p.snapshot()]));
    if (!this.holding) return Promise.resolve(read());
    return new Promise((resolve) => this.waiting.push(() => resolve(read())));
  }
  /** From now on traffic() answers only on release() (a router that hangs). */
  hold(): void {
    this.holding = true;
  }
  release(): void {
    this.holding = false;
    for (const answer of this.waiting.splice(0)) answer();
  }
  get pending(): number {
    return this.waiting.length;
  }

  /** `ms` of `load`, split between the pools by their weights; the baseline's requests all succeed. */
  feed(ms: number, load: Load): void {
    for (const [pool, weight] of Object.entries(this.weights)) {
      const n = Math.round(((load.rps * ms) / 1000) * (weight / 100));
      const failed = pool === CANARY ? Math.round(n * (load.fail ?? 0)) : 0;
      for (let i = 0; i < n; i++) this.pools[pool]!.record(i < failed ? 500 : 200, 20);
    }
  }
}

/** Both pools' instances, running: what the weights update checks before giving a pool traffic. */
function fakeInstances(): InstanceManager {
  const no = () => Promise.reject(new Error('not in the canary rig'));
  return {
    kind: 'process',
    start: no,
    waitHealthy: no,
    stop: no,
    stopPoolAfter: no,
    restart: no,
    list: async () => [
      { id: `${BASELINE}-0`, port: 3000, pool: BASELINE, release: OLD, state: 'running', host: '127.0.0.1' },
      { id: `${CANARY}-0`, port: 3001, pool: CANARY, release: NEW, state: 'running', host: '127.0.0.1' },
    ],
  };
}

/** Stages as the planner makes them: `green` canary against the `blue` baseline. */
export function stages(...specs: { weight: number; ms: number; pause?: 'manual' | 'timed' }[]): Stage[] {
  return specs.map((s, i) => ({
    kind: 'canary_analysis',
    stage: i + 1,
    stages: specs.length,
    release: NEW,
    pool: CANARY,
    baseline: { pool: BASELINE, release: OLD },
    weight: s.weight,
    durationMs: s.ms,
    pause: s.pause ?? null,
  }));
}

export interface Rig {
  ctx: RunContext;
  clock: ManualClock;
  rt: FakeRouter;
  events: RunEvent[];
  /** the canary session (once the first stage has run) */
  readonly session: CanarySession;
  /** the load of each advance, chosen by the virtual time it starts at */
  drive(load: (fromMs: number) => Load, then?: (toMs: number) => void | Promise<void>): void;
  command(c: Partial<CanaryCommand> & Pick<CanaryCommand, 'action'>): Promise<void>;
  status(): Promise<CanaryStatus>;
  dispose(): void;
}

/** A context for `steps` with `analysis` (as the manifest writes it) on a fresh app directory. */
export function canaryRig(analysis: Record<string, unknown>, steps: Stage[]): Rig {
  const dir = mkdtempSync(join(tmpdir(), 'deployer-canary-stage-'));
  const layout = new AppLayout(dir);
  mkdirSync(layout.state, { recursive: true });
  const clock = new ManualClock();
  const rt = new FakeRouter();
  const events: RunEvent[] = [];
  const local = new LocalTransport();
  const ctx: RunContext = {
    transport: clockedTransport(clock),
    hostName: 'local',
    layout,
    loaded: parseManifest(`name: app\nanalysis: ${JSON.stringify(analysis)}\n`, { env: {} }),
    service: { kind: 'none', restart: async () => {} },
    deployId: 'dep-1',
    strategy: 'canary',
    clock,
    emit: (e) => events.push(e),
    redactor: new Redactor([]),
    home: dir,
    router: rt,
    instances: fakeInstances(),
    plan: plan(
      steps.flatMap((step) => [weightsOf(step), { step, onError: 'abort' } satisfies PlannedStep]),
      { strategy: 'canary' },
    ),
    data: {},
  };
  let n = 0;
  return {
    ctx,
    clock,
    rt,
    events,
    get session() {
      return ctx.data.canary!;
    },
    drive(load, then) {
      clock.onAdvance = async (from, to) => {
        rt.feed(to - from, load(from));
        await then?.(to);
      };
    },
    command: (c) => writeCanaryCommand(local, layout, { id: `cmd-${++n}`, deploy_id: ctx.deployId, by: 'alice@laptop', at: clock.now().toISOString(), ...c }),
    status: async () => (await readCanaryStatus(local, layout))!,
    dispose() {
      clock.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
