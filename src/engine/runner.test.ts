import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../checks/test-support.js';
import { LocalTransport } from '../hosts/local.js';
import { parseManifest } from '../manifest/load.js';
import type { HookEvent } from '../manifest/schema/hooks.js';
import type { Plan, PlannedStep, Step, StepKind } from '../plan/steps.js';
import { AppLayout } from '../release/layout.js';
import type { Journal, StepStatus } from '../state/journal.js';
import { writeJournal } from '../state/journal.js';
import { Redactor } from '../state/redact.js';
import type { RunContext } from './context.js';
import type { RunEvent } from './events.js';
import type { Handlers, StepHandler, UndoInfo } from './handlers/types.js';
import { Runner, undoSteps } from './runner.js';

const OLD = '20240101_000001';
const NEW = '20240101_000002';

// plan building blocks
const prepare = (): PlannedStep => ({ step: { kind: 'prepare_release', release: NEW, previous: OLD, source: 'test' }, onError: 'abort' });
const hook = (event: HookEvent, onError: 'abort' | 'warn' = 'abort'): PlannedStep => ({ step: { kind: 'hook', event, release: NEW }, onError });
const activate = (): PlannedStep => ({
  step: { kind: 'activate', release: NEW, previous: OLD, manager: 'none', pointers: {}, pointersBefore: {} },
  onError: 'abort',
  live: true,
});
const check = (release = NEW): PlannedStep => ({ step: { kind: 'health_check', release, checks: ['c'] }, onError: 'abort' });
const cleanup = (): PlannedStep => ({ step: { kind: 'cleanup', keep: 3 }, onError: 'warn' });

function plan(steps: PlannedStep[], over: Partial<Plan> = {}): Plan {
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
const livePlan = (over: Partial<Plan> = {}) =>
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
class FakeHandlers {
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
    const kinds = ['prepare_release', 'hook', 'activate', 'health_check', 'cleanup', 'start_instances', 'smoke_test', 'warmup', 'switch_traffic', 'stop_instances', 'roll_batch', 'set_current'] as const;
    return Object.fromEntries(kinds.map((k) => [k, make(k)])) as unknown as Handlers;
  }
}

let dir: string;
let layout: AppLayout;
let events: RunEvent[];
let fake: FakeHandlers;

function context(): RunContext {
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

const journal = () => JSON.parse(readFileSync(layout.journal, 'utf8')) as Journal;
const statuses = () => journal().steps.map((s) => s.status);
const run = (p: Plan, onCommit?: () => Promise<void>) => new Runner(context(), { handlers: fake.handlers, ...(onCommit ? { onCommit } : {}) }).run(p);

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

describe('Runner: success', () => {
  it('runs the steps in order and journals each one as it goes', async () => {
    fake.skip.add('hook:build');
    const p = plan([prepare(), hook('build'), activate(), check(), hook('post_deploy', 'warn'), cleanup()]);
    const outcome = await run(p);

    expect(outcome).toEqual({ result: 'succeeded', manual: false, rolledBack: false, warnings: [] });
    expect(fake.log).toEqual(['run prepare_release', 'run hook:build', 'run activate', 'run check:new', 'run hook:post_deploy', 'run cleanup']);
    expect(fake.snapshots).toEqual([
      { at: 'run prepare_release', state: 'running', statuses: ['running', 'pending', 'pending', 'pending', 'pending', 'pending'] },
      { at: 'run hook:build', state: 'running', statuses: ['done', 'running', 'pending', 'pending', 'pending', 'pending'] },
      { at: 'run activate', state: 'running', statuses: ['done', 'skipped', 'running', 'pending', 'pending', 'pending'] },
      { at: 'run check:new', state: 'running', statuses: ['done', 'skipped', 'done', 'running', 'pending', 'pending'] },
      // every abort step has passed: committed
      { at: 'run hook:post_deploy', state: 'committed', statuses: ['done', 'skipped', 'done', 'done', 'running', 'pending'] },
      { at: 'run cleanup', state: 'committed', statuses: ['done', 'skipped', 'done', 'done', 'done', 'running'] },
    ]);
    const j = journal();
    expect(j).toMatchObject({ version: 1, deploy_id: 'dep-1', operation: 'deploy', pid: process.pid, state: 'committed', plan: p });
    expect(j.steps.map((s) => s.status)).toEqual(['done', 'skipped', 'done', 'done', 'done', 'done']);
    expect(j.steps[0]).toMatchObject({ title: `prepare release ${NEW} from test (unchanged files linked from ${OLD})`, started: expect.any(String), finished: expect.any(String) });
  });

  it('emits the plan, then a start and an end per step', async () => {
    await run(plan([prepare(), hook('build')]));
    expect(events.map((e) => (e.type === 'step_start' || e.type === 'step_end' ? `${e.type} ${e.phase} ${e.index}${e.type === 'step_end' ? ` ${e.status}` : ''}` : e.type))).toEqual([
      'plan',
      'step_start main 0',
      'step_end main 0 done',
      'step_start main 1',
      'step_end main 1 done',
    ]);
  });

  it('calls onCommit once, right after the last abort step', async () => {
    let commits = 0;
    const outcome = await run(livePlan(), async () => {
      commits++;
      fake.log.push('commit');
      expect(journal().state).toBe('committed');
    });
    expect(outcome.result).toBe('succeeded');
    expect(commits).toBe(1);
    expect(fake.log).toEqual(['run prepare_release', 'run activate', 'run check:new', 'commit', 'run hook:post_deploy', 'run cleanup']);
  });

  it('commits before the first step when no step can abort', async () => {
    await run(plan([hook('post_deploy', 'warn'), cleanup()]), async () => {
      fake.log.push('commit');
    });
    expect(fake.log).toEqual(['commit', 'run hook:post_deploy', 'run cleanup']);
  });

  it('goes on after a failing warn step and reports it, redacted', async () => {
    fake.failRun.add('hook:post_deploy');
    let commits = 0;
    const outcome = await run(livePlan(), async () => {
      commits++;
    });
    expect(outcome.result).toBe('succeeded');
    expect(outcome.warnings).toEqual(['hook post_deploy: hook:post_deploy broke (password ***)']);
    expect(fake.log).toEqual(['run prepare_release', 'run activate', 'run check:new', 'run hook:post_deploy', 'run cleanup']);
    expect(statuses()).toEqual(['done', 'done', 'done', 'warned', 'done']);
    expect(journal().steps[3]!.error).toBe('hook:post_deploy broke (password ***)');
    expect(commits).toBe(1);
  });
});

describe('Runner: failure before anything live changed', () => {
  it('undoes the completed steps in reverse, the failed one included, and runs onFailure only', async () => {
    fake.failRun.add('hook:build');
    let commits = 0;
    const p = livePlan({ steps: [prepare(), hook('pre_deploy'), hook('build'), activate(), check(), cleanup()] });
    const outcome = await run(p, async () => {
      commits++;
    });

    expect(outcome).toEqual({ result: 'failed', manual: false, rolledBack: false, undoFailed: false, error: 'hook:build broke (password ***)', failedStep: 2, warnings: [] });
    expect(fake.log).toEqual(['run prepare_release', 'run hook:pre_deploy', 'run hook:build', 'undo hook:build', 'undo hook:pre_deploy', 'undo prepare_release', 'run hook:on_failure']);
    expect(fake.undoInfo).toEqual([{ liveChanged: false }, { liveChanged: false }, { liveChanged: false }]);
    expect(commits).toBe(0);
    expect(journal().state).toBe('finished');
    expect(statuses()).toEqual(['undone', 'undone', 'undone', 'pending', 'pending', 'pending']);
    expect(journal().steps[2]!.error).toBe('hook:build broke (password ***)');
  });

  it('skips steps whose handler has no undo', async () => {
    fake.noUndo.add('hook');
    fake.failRun.add('hook:build');
    await run(plan([prepare(), hook('pre_deploy'), hook('build'), activate()]));
    expect(fake.log).toEqual(['run prepare_release', 'run hook:pre_deploy', 'run hook:build', 'undo prepare_release']);
    expect(statuses()).toEqual(['undone', 'done', 'failed', 'pending']);
  });

  it('records the undo states in the journal as it goes', async () => {
    fake.failRun.add('hook:build');
    await run(plan([prepare(), hook('build'), activate()]));
    expect(fake.snapshots.filter((s) => s.at.startsWith('undo'))).toEqual([
      { at: 'undo hook:build', state: 'undoing', statuses: ['done', 'undoing', 'pending'] },
      { at: 'undo prepare_release', state: 'undoing', statuses: ['undoing', 'undone', 'pending'] },
    ]);
  });
});

describe('Runner: failure after a live step', () => {
  it('rolls back: rollback.before, undo in reverse, verify, rollback.after, then onFailure', async () => {
    fake.failRun.add('check:new');
    const outcome = await run(livePlan());
    expect(outcome).toEqual({ result: 'rolled_back', manual: false, rolledBack: true, undoFailed: false, error: 'check:new broke (password ***)', failedStep: 2, warnings: [] });
    expect(fake.log).toEqual([
      'run prepare_release',
      'run activate',
      'run check:new',
      'run hook:pre_rollback',
      'undo check:new',
      'undo activate',
      'undo prepare_release',
      'run check:old',
      'run hook:post_rollback',
      'run hook:on_failure',
    ]);
    expect(fake.undoInfo.every((i) => i.liveChanged)).toBe(true);
    // the rollback hooks see the journal already in the undoing state
    expect(fake.snapshots.find((s) => s.at === 'run hook:pre_rollback')).toEqual({ at: 'run hook:pre_rollback', state: 'undoing', statuses: ['done', 'done', 'failed', 'pending', 'pending'] });
    expect(statuses()).toEqual(['undone', 'undone', 'undone', 'pending', 'pending']);
    expect(events.filter((e) => e.type === 'step_start' && e.phase === 'rollback').map((e) => (e as { title: string }).title)).toEqual([
      'hook pre_rollback',
      `health check ${OLD}: c`,
      'hook post_rollback',
    ]);
    expect(events.filter((e) => e.type === 'undo_end').map((e) => (e as { index: number; ok: boolean }).index)).toEqual([2, 1, 0]);
  });

  it('treats a failing live step itself as a live change', async () => {
    fake.failRun.add('activate');
    const outcome = await run(livePlan());
    expect(outcome.rolledBack).toBe(true);
    expect(fake.log).toEqual(['run prepare_release', 'run activate', 'run hook:pre_rollback', 'undo activate', 'undo prepare_release', 'run check:old', 'run hook:post_rollback', 'run hook:on_failure']);
  });

  it('is "failed", not "rolled back", when there was no previous release', async () => {
    fake.failRun.add('check:new');
    const outcome = await run(livePlan({ previous: null }));
    expect(outcome).toMatchObject({ result: 'failed', rolledBack: false, manual: false });
    expect(fake.log).toContain('undo activate');
  });

  it('leaves everything as it is when undoLive is off (auto_rollback: false)', async () => {
    fake.failRun.add('check:new');
    const outcome = await run(livePlan({ undoLive: false }));
    expect(outcome).toEqual({ result: 'failed', manual: false, rolledBack: false, undoFailed: false, error: 'check:new broke (password ***)', failedStep: 2, warnings: [] });
    expect(fake.log).toEqual(['run prepare_release', 'run activate', 'run check:new', 'run hook:on_failure']);
    expect(statuses()).toEqual(['done', 'done', 'failed', 'pending', 'pending']);
    expect(events).toContainEqual({ type: 'log', level: 'warn', message: `auto_rollback is off: ${NEW} stays live` });
  });

  it('needs a human when the restored release fails its checks (and skips rollback.after)', async () => {
    fake.failRun.add('check:new');
    fake.failRun.add('check:old');
    const outcome = await run(livePlan());
    expect(outcome).toMatchObject({ result: 'rolled_back', rolledBack: true, manual: true });
    expect(fake.log.slice(-2)).toEqual(['run check:old', 'run hook:on_failure']);
    expect(fake.log).not.toContain('run hook:post_rollback');
    expect(events).toContainEqual({ type: 'log', level: 'error', message: 'the release that was restored does not pass its health checks' });
  });

  it('needs a human when an undo fails, and stops undoing there (the release may still be live)', async () => {
    fake.failRun.add('check:new');
    fake.failUndo.add('activate');
    const outcome = await run(livePlan());
    expect(outcome).toMatchObject({ result: 'failed', rolledBack: false, manual: true, undoFailed: true });
    // prepare_release is not undone: removing the release `current` may still point at is worse
    expect(fake.log).toEqual(['run prepare_release', 'run activate', 'run check:new', 'run hook:pre_rollback', 'undo check:new', 'undo activate', 'run hook:on_failure']);
    const j = journal();
    expect(j.state).toBe('undoing');
    expect(j.steps.map((s) => s.status)).toEqual(['done', 'undo_failed', 'undone', 'pending', 'pending']);
    expect(j.steps[1]!.error).toBe('undo of activate broke');
  });

  it('marks the journal finished once the outcome is decided, before on_failure runs', async () => {
    fake.failRun.add('check:new');
    const outcome = await run(livePlan({ undoLive: false }));
    expect(outcome.result).toBe('failed');
    expect(fake.snapshots.find((x) => x.at === 'run hook:on_failure')?.state).toBe('finished');
    expect(journal().result).toBe('failed');
  });

  it('exits as manual when the plan says failures are (rollback plans)', async () => {
    fake.failRun.add('check:new');
    const outcome = await run(livePlan({ undoLive: false, failureIsManual: true }));
    expect(outcome).toMatchObject({ result: 'failed', manual: true, rolledBack: false });
  });

  it('keeps going through onFailure even when one of its steps fails', async () => {
    fake.failRun.add('check:new');
    fake.failRun.add('hook:on_failure');
    const outcome = await run(livePlan({ onFailure: [hook('on_failure', 'warn'), cleanup()] }));
    expect(fake.log.slice(-2)).toEqual(['run hook:on_failure', 'run cleanup']);
    expect(outcome.warnings).toEqual(['hook on_failure: hook:on_failure broke (password ***)']);
  });
});

describe('undoSteps', () => {
  function midUndo(states: StepStatus[]): Journal {
    const p = plan([prepare(), hook('build'), activate(), check(), cleanup()]);
    return {
      version: 1,
      deploy_id: 'dep-1',
      operation: 'deploy',
      pid: 1,
      host: 'h',
      started: '2024-01-01T00:00:00.000Z',
      state: 'undoing',
      plan: p,
      steps: states.map((status, i) => ({ title: `step ${i}`, status })),
    };
  }

  it('resumes a journal left mid-undo: what was undone stays undone, the rest is undone in reverse', async () => {
    const j = midUndo(['done', 'done', 'undoing', 'undone', 'pending']);
    const ctx = context();
    await writeJournal(ctx.transport, layout.journal, j);
    const ok = await undoSteps(ctx, j, fake.handlers, { liveChanged: true }, () => writeJournal(ctx.transport, layout.journal, j));
    expect(ok).toBe(true);
    expect(fake.log).toEqual(['undo activate', 'undo hook:build', 'undo prepare_release']);
    expect(fake.undoInfo).toEqual([{ liveChanged: true }, { liveChanged: true }, { liveChanged: true }]);
    expect(statuses()).toEqual(['undone', 'undone', 'undone', 'undone', 'pending']);
    // each undo was journaled before it ran
    expect(fake.snapshots.map((s) => s.statuses)).toEqual([
      ['done', 'done', 'undoing', 'undone', 'pending'],
      ['done', 'undoing', 'undone', 'undone', 'pending'],
      ['undoing', 'undone', 'undone', 'undone', 'pending'],
    ]);
  });

  it('retries an undo that failed before, and skips steps that never changed anything', async () => {
    const j = midUndo(['skipped', 'warned', 'undo_failed', 'failed', 'pending']);
    const ctx = context();
    await writeJournal(ctx.transport, layout.journal, j);
    const ok = await undoSteps(ctx, j, fake.handlers, { liveChanged: false }, () => writeJournal(ctx.transport, layout.journal, j));
    expect(ok).toBe(true);
    expect(fake.log).toEqual(['undo check:new', 'undo activate', 'undo hook:build']);
    expect(j.steps.map((s) => s.status)).toEqual(['skipped', 'undone', 'undone', 'undone', 'pending']);
  });

  it('reports false when an undo fails, and does not undo the steps before it', async () => {
    fake.failUndo.add('hook:build');
    const j = midUndo(['done', 'done', 'done', 'failed', 'pending']);
    await writeJournal(context().transport, layout.journal, j);
    const ok = await undoSteps(context(), j, fake.handlers, { liveChanged: true }, async () => {});
    expect(ok).toBe(false);
    expect(fake.log).toEqual(['undo check:new', 'undo activate', 'undo hook:build']);
    expect(j.steps.map((s) => s.status)).toEqual(['done', 'undo_failed', 'undone', 'undone', 'pending']);
    expect(j.steps[1]!.error).toBe('undo of hook:build broke');
  });
});
