import { errorMessage, isDiskFull } from '../errors.js';
import { describeStep, type Plan, type PlannedStep } from '../plan/steps.js';
import { writeJournal, type Journal, type JournalStep } from '../state/journal.js';
import type { RunContext } from './context.js';
import { crashPoint } from './crash.js';
import type { Phase } from './events.js';
import { defaultHandlers } from './handlers/index.js';
import { changedNothing, type Handlers, type StepHandler } from './handlers/types.js';
import { undoSteps } from './undo-steps.js';

export type RunResult = 'succeeded' | 'failed' | 'rolled_back';

export interface RunOutcome {
  result: RunResult;
  /** a human has to look: undo or the check after it failed */
  manual: boolean;
  rolledBack: boolean;
  error?: string;
  /** index of the step that failed */
  failedStep?: number;
  /** the plan stopped before that step ran (an interrupt, a canary abort between steps) */
  stoppedBefore?: boolean;
  /** an undo failed: the journal stays, so the undo can be finished later */
  undoFailed?: boolean;
  /** the journal could not be written (a full disk): why */
  unsaved?: string;
  warnings: string[];
}

export interface RunnerOptions {
  handlers?: Handlers;
  /** called once every abort step has passed: the operation has succeeded whatever follows */
  onCommit?: () => Promise<void>;
  /** asked before each step until the commit: a reason fails the plan there (say a canary aborted between its stages) */
  beforeStep?: (index: number, step: PlannedStep) => Promise<string | null>;
  /**
   * asked once the last abort step has passed, just before the commit: a reason undoes the plan
   * (a fleet whose other hosts failed switches this one back)
   */
  beforeCommit?: () => Promise<string | null>;
}

/**
 * Walks a plan: journals each step atomically before and after it runs, emits events, and on
 * a failure undoes the completed steps in reverse (with the plan's rollback hooks and checks
 * around undoing live steps).
 */
export class Runner {
  private readonly handlers: Handlers;
  private journal!: Journal;
  private warnings: string[] = [];

  constructor(
    private ctx: RunContext,
    private readonly opts: RunnerOptions = {},
  ) {
    this.handlers = opts.handlers ?? defaultHandlers;
  }

  async run(plan: Plan): Promise<RunOutcome> {
    const ctx = this.ctx;
    ctx.plan = plan;
    this.journal = {
      version: 1,
      deploy_id: plan.deployId,
      operation: plan.operation,
      pid: process.pid,
      host: await ctx.transport.hostname(),
      started: ctx.clock.now().toISOString(),
      state: 'running',
      plan,
      steps: plan.steps.map((p) => ({ title: describeStep(p.step), status: 'pending' })),
    };
    if (!(await this.save())) {
      // nothing ran, and nothing on disk says it did
      return { result: 'failed', manual: false, rolledBack: false, error: this.unsaved, failedStep: 0, stoppedBefore: true, warnings: this.warnings };
    }
    ctx.emit({ type: 'plan', plan });

    const lastAbort = plan.steps.map((p) => p.onError).lastIndexOf('abort');
    if (lastAbort < 0) {
      const stop = await this.ask(() => this.opts.beforeCommit?.() ?? Promise.resolve(null));
      if (stop && plan.steps.length) return this.stopBefore(plan, 0, stop);
      if (!(await this.commit())) return this.stopBefore(plan, 0, this.unsaved);
    }
    for (let i = 0; i < plan.steps.length; i++) {
      const batchEnd = this.batchEnd(plan, i);
      if (batchEnd === i) crashPoint(`step:${i}:before`);
      if (ctx.signal?.aborted) {
        const why = `interrupted (${String(ctx.signal.reason ?? 'aborted')})`;
        if (this.journal.state === 'committed') {
          // the release is live and checked: skip what is left rather than undo a good deploy
          for (const j of this.journal.steps.slice(i)) Object.assign(j, { status: 'skipped', error: why });
          this.warnings.push(`${why}: skipped ${plan.steps.length - i} step(s) after the deploy had succeeded`);
          await this.save();
          break;
        }
        return this.stopBefore(plan, i, why);
      }
      const stop = this.journal.state === 'committed' ? null : await this.askBeforeStep(i, plan.steps[i]!);
      if (stop) return this.stopBefore(plan, i, stop);
      if (batchEnd > i) {
        const failed = await this.runBatch(plan, i, batchEnd);
        if (failed) return failed;
        if (lastAbort >= i && lastAbort < batchEnd) {
          const stop = await this.ask(() => this.opts.beforeCommit?.() ?? Promise.resolve(null));
          if (stop) return this.fail(plan, lastAbort, stop);
          if (!(await this.commit())) return this.fail(plan, lastAbort, this.unsaved);
        }
        i = batchEnd - 1;
        continue;
      }
      const ok = await this.runStep('main', i, plan.steps[i]!, this.journal.steps[i]!);
      crashPoint(`step:${i}:after`);
      if (!ok) return this.fail(plan, i);
      if (i === lastAbort) {
        const stop = await this.ask(() => this.opts.beforeCommit?.() ?? Promise.resolve(null));
        if (stop) return this.fail(plan, i, stop);
        if (!(await this.commit())) return this.fail(plan, i, this.unsaved);
      }
    }
    return { result: 'succeeded', manual: false, rolledBack: false, warnings: this.warnings };
  }

  /** Where the batch starting at step i ends (exclusive); i when the step is not in a batch. */
  private batchEnd(plan: Plan, i: number): number {
    const batch = plan.steps[i]!.batch;
    if (batch === undefined) return i;
    let end = i;
    while (end < plan.steps.length && plan.steps[end]!.batch === batch) end++;
    return end;
  }

  /**
   * Runs the steps [from, to) of one batch: its groups at once, each group's steps in order.
   * Under Plan.tolerate a group whose step fails is undone (its steps in reverse), journaled as
   * failed, and the plan goes on, until maxFailures groups have failed. Null when the plan goes
   * on; otherwise the outcome of failing it (every started step undone), once every group of
   * the batch has stopped.
   */
  private async runBatch(plan: Plan, from: number, to: number): Promise<RunOutcome | null> {
    const groups = new Map<string, number[]>();
    for (let i = from; i < to; i++) {
      const g = plan.steps[i]!.group ?? `#${i}`;
      groups.set(g, [...(groups.get(g) ?? []), i]);
    }
    const ends = await Promise.all([...groups].map(([g, steps]) => this.runGroup(plan, g, steps)));
    const stopped = ends.filter((e) => e !== null).sort((a, b) => a.index - b.index)[0];
    if (stopped) return stopped.before ? { ...(await this.fail(plan, stopped.index, stopped.why)), stoppedBefore: true } : this.fail(plan, stopped.index, stopped.why);
    const failures = this.journal.failures ?? [];
    const max = plan.tolerate?.maxFailures;
    if (max !== undefined && failures.length >= max) {
      const last = failures[failures.length - 1]!;
      return this.fail(plan, last.step, `${failures.length} instance(s) failed (max_failures ${max}): ${failures.map((f) => `${f.group}: ${f.error}`).join('; ')}`);
    }
    return null;
  }

  /** One group of a batch; null when it ran, or failed and was put back (tolerated). */
  private async runGroup(plan: Plan, group: string, steps: number[]): Promise<{ index: number; why?: string; before?: boolean } | null> {
    for (const i of steps) {
      crashPoint(`step:${i}:before`);
      if (this.ctx.signal?.aborted) {
        const why = `interrupted (${String(this.ctx.signal.reason ?? 'aborted')})`;
        Object.assign(this.journal.steps[i]!, { status: 'skipped', error: why });
        await this.save();
        return { index: i, why, before: true };
      }
      const ok = await this.runStep('main', i, plan.steps[i]!, this.journal.steps[i]!);
      crashPoint(`step:${i}:after`);
      if (ok) continue;
      if (!plan.tolerate || plan.steps[i]!.group === undefined) return { index: i };
      const error = this.journal.steps[i]!.error ?? 'failed';
      this.ctx.emit({ type: 'log', level: 'warn', message: `${group} failed (${error}): putting it back` });
      const mine = new Set(steps);
      const undone = await undoSteps(this.ctx, this.journal, this.handlers, { liveChanged: true }, () => this.save(), (k) => mine.has(k));
      this.journal.failures = [...(this.journal.failures ?? []), { group, step: i, error, undone }];
      await this.save();
      return undone ? null : { index: i, why: `${group} failed (${error}) and could not be put back: ${this.journal.steps.find((s, k) => mine.has(k) && s.status === 'undo_failed')?.error ?? 'undo failed'}` };
    }
    return null;
  }

  /** The beforeStep hook's verdict; a hook that throws stops the plan too, with its error. */
  private async askBeforeStep(i: number, p: PlannedStep): Promise<string | null> {
    return this.opts.beforeStep ? this.ask(() => this.opts.beforeStep!(i, p)) : null;
  }

  private async ask(hook: () => Promise<string | null>): Promise<string | null> {
    try {
      return await hook();
    } catch (e) {
      return this.ctx.redactor.redact(errorMessage(e));
    }
  }

  /** Stops the plan before step i ran (an interrupt, an abort): that step is skipped, not failed, so it counts as untouched. */
  private async stopBefore(plan: Plan, i: number, why: string): Promise<RunOutcome> {
    Object.assign(this.journal.steps[i]!, { status: 'skipped', error: why });
    await this.save();
    return { ...(await this.fail(plan, i)), stoppedBefore: true };
  }

  /** False when the journal could not say so (a full disk): then the operation has not committed. */
  private async commit(): Promise<boolean> {
    this.journal.state = 'committed';
    if (!(await this.save())) {
      this.journal.state = 'running';
      return false;
    }
    crashPoint('commit');
    await this.opts.onCommit?.();
    return true;
  }

  /** Runs one step; false when it failed and the plan must stop. */
  private async runStep(phase: Phase, index: number, p: PlannedStep, j: JournalStep): Promise<boolean> {
    const { ctx } = this;
    const title = describeStep(p.step);
    j.status = 'running';
    j.started = ctx.clock.now().toISOString();
    if (phase === 'main' && !(await this.save())) return this.notRun(index, p, j, this.unsaved);
    ctx.emit({ type: 'step_start', phase, index, total: this.journal.plan.steps.length, title });
    const started = ctx.clock.monotonic();
    try {
      const handler = this.handlers[p.step.kind] as StepHandler;
      // the step may say where it has got to (a canary's stage and failing intervals), for the journal
      const note = async (progress: NonNullable<JournalStep['progress']>) => {
        j.progress = progress;
        if (phase === 'main') await this.save();
      };
      const r = await handler.run(p.step, { ...ctx, note });
      j.status = r.status;
      j.finished = ctx.clock.now().toISOString();
      ctx.emit({ type: 'step_end', phase, index, title, status: r.status, durationMs: ctx.clock.monotonic() - started, ...(r.detail ? { detail: r.detail } : {}) });
      if (phase === 'main') await this.save();
      return true;
    } catch (e) {
      const error = ctx.redactor.redact(errorMessage(e));
      j.finished = ctx.clock.now().toISOString();
      j.error = error;
      const durationMs = ctx.clock.monotonic() - started;
      if (p.onError === 'warn') {
        j.status = 'warned';
        this.warnings.push(`${title}: ${error}`);
        ctx.emit({ type: 'step_end', phase, index, title, status: 'warned', durationMs, error });
        if (phase === 'main') await this.save();
        return true;
      }
      j.status = 'failed';
      // a step that failed before changing anything (it says so) is not undone, nor counted as live
      if (changedNothing(e)) j.unchanged = true;
      ctx.emit({ type: 'step_end', phase, index, title, status: 'failed', durationMs, error });
      if (phase === 'main') await this.save();
      return false;
    }
  }

  /**
   * A step that is not run because the journal could not record that it starts (a full disk):
   * a step that may fail is failed, unchanged (nothing to undo); one that may only warn is skipped
   * with a warning.
   */
  private notRun(index: number, p: PlannedStep, j: JournalStep, error: string): boolean {
    const title = describeStep(p.step);
    Object.assign(j, { finished: this.ctx.clock.now().toISOString(), error });
    const warn = p.onError === 'warn';
    if (warn) this.warnings.push(`${title}: not run: ${error}`);
    else j.unchanged = true;
    j.status = warn ? 'warned' : 'failed';
    this.ctx.emit({ type: 'step_end', phase: 'main', index, title, status: j.status, durationMs: 0, error });
    return warn;
  }

  private async fail(plan: Plan, failedAt: number, why?: string): Promise<RunOutcome> {
    // going back must finish even when the operation was interrupted (a second Ctrl-C stops it)
    this.ctx = { ...this.ctx, signal: undefined };
    const ctx = this.ctx;
    const error = why ?? this.journal.steps[failedAt]!.error ?? 'failed';
    const touched = (i: number) => {
      const j = this.journal.steps[i]!;
      return ['done', 'failed', 'running', 'warned'].includes(j.status) && !j.unchanged;
    };
    const liveChanged = plan.steps.some((p, i) => p.live && touched(i));
    // a trial (a canary's share of traffic) is always taken back: auto_rollback keeps a release
    // that became the live one, never a canary still on trial
    const onlyTrials = plan.steps.every((p, i) => !(p.live && touched(i)) || p.trial === true);
    let manual = plan.failureIsManual;
    let rolledBack = false;

    let undoFailed = false;
    if (!liveChanged || plan.undoLive || onlyTrials) {
      this.journal.state = 'undoing';
      await this.save();
      if (liveChanged) await this.sideSteps('rollback', plan.rollback.before);
      undoFailed = !(await undoSteps(this.ctx, this.journal, this.handlers, { liveChanged }, () => this.save()));
      if (undoFailed) manual = true;
      else if (liveChanged) {
        rolledBack = plan.previous !== null;
        if (!(await this.sideSteps('rollback', plan.rollback.verify))) {
          manual = true;
          ctx.emit({ type: 'log', level: 'error', message: 'the release that was restored does not pass its health checks' });
        } else await this.sideSteps('rollback', plan.rollback.after);
      }
    } else {
      const why = plan.operation === 'rollback' ? 'a failed rollback is not undone' : 'auto_rollback is off';
      ctx.emit({ type: 'log', level: 'warn', message: `${why}: ${plan.release} stays live` });
    }
    const result = rolledBack ? 'rolled_back' : 'failed';
    // decided: a crash from here on (say in a long on_failure hook) is recorded, not undone, and
    // a failed undo keeps the journal in `undoing` so doctor or the next deploy can finish it
    if (!undoFailed) {
      this.journal.state = 'finished';
      this.journal.result = result;
      await this.save();
      crashPoint('finished');
    }
    await this.sideSteps('failure', plan.onFailure);
    return { result, manual, rolledBack, undoFailed, error, failedStep: failedAt, warnings: this.warnings, ...(this.unsaved ? { unsaved: this.unsaved } : {}) };
  }

  /** Runs steps outside the main list (rollback hooks and checks, on_failure); false if one failed. */
  private async sideSteps(phase: Phase, steps: PlannedStep[]): Promise<boolean> {
    let ok = true;
    for (const [i, p] of steps.entries()) {
      const j: JournalStep = { title: describeStep(p.step), status: 'pending' };
      if (!(await this.runStep(phase, i, p, j))) ok = false;
    }
    return ok;
  }

  /** Why the last journal write failed (a full disk), for the step it stops. */
  private unsaved = '';
  private saving: Promise<unknown> = Promise.resolve();

  /**
   * Writes the journal; false when the disk is full. Then a step is not started (it could not be
   * undone after a crash), but an undo goes on: it frees space, and the journal on disk still
   * names every step that may need undoing, so `doctor --repair` can finish it.
   */
  private async save(): Promise<boolean> {
    // the groups of a batch save at once: one write at a time, each of the journal as it is then
    const write = this.saving.then(() => writeJournal(this.ctx.transport, this.ctx.layout.journal, this.ctx.redactor.redactValue(this.journal)));
    this.saving = write.catch(() => undefined);
    try {
      await write;
      return true;
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      this.unsaved = this.ctx.redactor.redact(errorMessage(e));
      this.ctx.emit({ type: 'log', level: 'warn', message: `could not write the journal: ${this.unsaved}` });
      return false;
    }
  }
}

