// The Runner rolling back after a live step failed, and undoSteps resuming an undo a journal was left in.
import { describe, expect, it } from 'vitest';
import type { Journal, StepStatus } from '../state/journal.js';
import { writeJournal } from '../state/journal.js';
import { Runner } from './runner.js';
import { undoSteps } from './undo-steps.js';
import { activate, check, cleanup, context, events, fake, hook, journal, layout, livePlan, NEW, OLD, plan, prepare, run, statuses, useRunnerSandbox } from './test-support.js';

useRunnerSandbox();

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

describe('Runner: trials and stops between steps', () => {
  it('always takes a trial back (a canary share of traffic), even with undoLive off', async () => {
    fake.failRun.add('check:new');
    const trial = { ...activate(), trial: true };
    const outcome = await run(plan([prepare(), trial, check()], { undoLive: false }));
    expect(outcome).toMatchObject({ result: 'rolled_back', rolledBack: true });
    expect(fake.log).toEqual(['run prepare_release', 'run activate', 'run check:new', 'undo check:new', 'undo activate', 'undo prepare_release']);
  });

  it('keeps a release that became live when a non-trial live step ran, with undoLive off', async () => {
    fake.failRun.add('check:new');
    const outcome = await run(plan([prepare(), { ...activate(), trial: true }, activate(), check()], { undoLive: false }));
    expect(outcome).toMatchObject({ result: 'failed', rolledBack: false });
    expect(fake.log.filter((l) => l.startsWith('undo'))).toEqual([]);
  });

  it('stops before a step when beforeStep gives a reason: that step is skipped, never undone, and counts as untouched', async () => {
    const p = plan([prepare(), { ...activate(), trial: true }, activate(), check()], { undoLive: false });
    const runner = new Runner(context(), { handlers: fake.handlers, beforeStep: async (i) => (i === 2 ? 'aborted by someone' : null) });
    const outcome = await runner.run(p);
    expect(outcome).toMatchObject({ result: 'rolled_back', stoppedBefore: true, failedStep: 2, error: 'aborted by someone' });
    // the live step that never ran does not make the failure "after activation": the trial is taken back
    expect(fake.log).toEqual(['run prepare_release', 'run activate', 'undo activate', 'undo prepare_release']);
    expect(statuses()).toEqual(['undone', 'undone', 'skipped', 'pending']);
  });

  it('treats a beforeStep that throws as a reason to stop', async () => {
    const runner = new Runner(context(), { handlers: fake.handlers, beforeStep: async (i) => {
      if (i === 1) throw new Error('cannot read the commands');
      return null;
    } });
    const outcome = await runner.run(plan([prepare(), check()]));
    expect(outcome).toMatchObject({ result: 'failed', stoppedBefore: true, error: 'cannot read the commands' });
    expect(fake.log).toEqual(['run prepare_release', 'undo prepare_release']);
  });
});
