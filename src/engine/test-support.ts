// Helpers shared by the Runner tests (runner, runner-rollback): plan building blocks, handlers
// that log and fail on demand, and a temporary app directory per test.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { FakeClock } from '../checks/test-support.js';
import { LocalTransport } from '../hosts/local.js';
import { parseManifest } from '../manifest/load.js';
import type { HookEvent } from '../manifest/schema/hooks.js';
import type { Plan, PlannedStep, Step, StepKind } from '../plan/steps.js';
import { AppLayout } from '../release/layout.js';
import type { Journal, StepStatus } from '../state/journal.js';
import { Redactor } from '../state/redact.js';
import type { RunContext } from './context.js';
import type { RunEvent } from './events.js';
import type { Handlers, StepHandler, UndoInfo } from './handlers/types.js';
import { Runner } from './runner.js';

export const OLD = '20240101_000001';
export const NEW = '20240101_000002';

// plan building blocks
export const prepare = (): PlannedStep => ({ step: { kind: 'prepare_release', release: NEW, previous: OLD, source: 'test' }, onError: 'abort' });
export const hook = (event: HookEvent, onError: 'abort' | 'warn' = 'abort'): PlannedStep => ({ step: { kind: 'hook', event, release: NEW }, onError });
export const activate = (): PlannedStep => ({
  step: { kind: 'activate', release: NEW, previous: OLD, manager: 'none', pointers: {}, pointersBefore: {} },
  onError: 'abort',
  live: true,
});
export const check = (release = NEW): PlannedStep => ({ step: { kind: 'health_check', release, checks: ['c'] }, onError: 'abort' });
export const cleanup = (): PlannedStep => ({ step: { kind: 'cleanup', keep: 3 }, onError: 'warn' });

export function plan(steps: PlannedStep[], over: Partial<Plan> = {}): Plan {
  return {
    operation: 'deploy',
    deployId: 'dep-1',
    app: 'app',
    strategy: 'recreate',
    release: NEW,
    previous: OLD,
    steps,
    rollback: { before: [], verify: [], after: [] },
    onFailure: [],
    undoLive: true,
    failureIsManual: false,
    ...over,
  };
}

/** A plan with a live step and every side list filled in. */
export const livePlan = (over: Partial<Plan> = {}) =>
  plan([prepare(), activate(), check(), hook('post_deploy', 'warn'), cleanup()], {
    rollback: { before: [hook('pre_rollback', 'warn')], verify: [check(OLD)], after: [hook('post_rollback', 'warn')] },
    onFailure: [hook('on_failure', 'warn')],
    ...over,
  });

const label = (s: Step) => (s.kind === 'hook' ? `hook:${s.event}` : s.kind === 'health_check' ? `check:${s.release === NEW ? 'new' : 'old'}` : s.kind);

interface Snapshot {
  at: string;
  state: Journal['state'];
  statuses: StepStatus[];
}

/** Handlers that log what they are asked to do, fail on demand, and snapshot the journal file. */
export class FakeHandlers {
  readonly log: string[] = [];
  readonly snapshots: Snapshot[] = [];
  readonly undoInfo: UndoInfo[] = [];
  readonly failRun = new Set<string>();
  readonly failUndo = new Set<string>();
  readonly skip = new Set<string>();
  /** kinds whose handler has no undo */
  readonly noUndo = new Set<StepKind>();

  constructor(private readonly journalPath: string) {}

  private snapshot(at: string): void {
    const j = JSON.parse(readFileSync(this.journalPath, 'utf8')) as Journal;
    this.snapshots.push({ at, state: j.state, statuses: j.steps.map((s) => s.status) });
  }

  get handlers(): Handlers {
    const make = (kind: StepKind): StepHandler => ({
      run: async (step) => {
        const l = label(step);
        this.log.push(`run ${l}`);
        this.snapshot(`run ${l}`);
        if (this.failRun.has(l)) throw new Error(`${l} broke (password topsecret-value)`);
        return this.skip.has(l) ? { status: 'skipped', detail: 'nothing to do' } : { status: 'done' };
      },
      ...(this.noUndo.has(kind)
        ? {}
        : {
            undo: async (step: Step, _ctx: RunContext, info: UndoInfo) => {
              const l = label(step);
              this.log.push(`undo ${l}`);
              this.undoInfo.push(info);
              this.snapshot(`undo ${l}`);
              if (this.failUndo.has(l)) throw new Error(`undo of ${l} broke`);
            },
          }),
    });
    const kinds = ['prepare_release', 'hook', 'activate', 'health_check', 'cleanup', 'start_instances', 'smoke_test', 'warmup', 'switch_traffic', 'stop_instances', 'drain_target', 'stop_instance', 'start_instance', 'enable_target', 'wait', 'set_current'] as const;
    return Object.fromEntries(kinds.map((k) => [k, make(k)])) as unknown as Handlers;
  }
}

// Set afresh before each test by useRunnerSandbox(); importers see the current values (ESM live bindings).
let dir: string;
export let layout: AppLayout;
export let events: RunEvent[];
export let fake: FakeHandlers;

export function context(): RunContext {
  return {
    transport: new LocalTransport(),
    hostName: 'local',
    layout,
    loaded: parseManifest('name: app\n', { env: {} }),
    service: { kind: 'none', restart: async () => {} },
    deployId: 'dep-1',
    strategy: 'recreate',
    clock: new FakeClock(),
    emit: (e) => events.push(e),
    redactor: new Redactor(['topsecret-value']),
    home: dir,
    data: {},
  };
}

export const journal = () => JSON.parse(readFileSync(layout.journal, 'utf8')) as Journal;
export const statuses = () => journal().steps.map((s) => s.status);
export const run = (p: Plan, onCommit?: () => Promise<void>) => new Runner(context(), { handlers: fake.handlers, ...(onCommit ? { onCommit } : {}) }).run(p);

/** A fresh app directory, event list and FakeHandlers for each test of the calling file; removed after it. */
export function useRunnerSandbox(): void {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deployer-runner-'));
    layout = new AppLayout(dir);
    mkdirSync(layout.state, { recursive: true });
    events = [];
    fake = new FakeHandlers(layout.journal);
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });
}
