// The Runner: running a plan step by step with its journal, and undoing a failure before anything live changed.
import { describe, expect, it } from 'vitest';
import type { RunContext } from './context.js';
import type { Handlers } from './handlers/types.js';
import { Runner } from './runner.js';
import { activate, check, cleanup, context, events, fake, hook, journal, livePlan, NEW, OLD, plan, prepare, run, statuses, useRunnerSandbox } from './test-support.js';

useRunnerSandbox();

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

describe('Runner: what a step says of its progress', () => {
  it('is written into its journal entry at once, so a crash leaves where it had got to', async () => {
    const seen: unknown[] = [];
    const handlers = {
      ...fake.handlers,
      hook: {
        run: async (_step: unknown, ctx: RunContext) => {
          await ctx.note?.({ stage: 2, failures: 1 });
          seen.push(journal().steps[0]!.progress);
          return { status: 'done' as const };
        },
      },
    } as Handlers;
    const outcome = await new Runner(context(), { handlers }).run(plan([hook('build')]));
    expect(outcome.result).toBe('succeeded');
    expect(seen).toEqual([{ stage: 2, failures: 1 }]);
    expect(journal().steps[0]).toMatchObject({ status: 'done', progress: { stage: 2, failures: 1 } });
  });
});
