import { DeployFailed, DiskFullError, FleetStopped, isDiskFull, ManualInterventionRequired, StepFailed } from '../errors.js';
import { describeStep, type Plan, type PlannedStep } from '../plan/steps.js';
import { readJournal } from '../state/journal.js';
import { DeployLock } from '../state/lock.js';
import { appendHistory, readCurrent, writeLastDeploy, type HistoryEntry } from '../state/records.js';
import type { Observed } from '../strategies/observe.js';
import { observe, observePools } from './observe.js';
import { refuseIncapable } from './capabilities.js';
import { CanarySession } from './canary/session.js';
import type { RunContext } from './context.js';
import { DeployLog } from './deploy-log.js';
import { describeJournal, recoverJournal } from './recovery.js';
import { Runner, type RunOutcome } from './runner.js';

export interface OperationReport {
  plan: Plan;
  outcome: RunOutcome;
  entry: HistoryEntry;
  logPath: string;
  /** the release `current` points at once the operation is over */
  live: string | null;
}

/**
 * One deploy or rollback on one host: take the lock, finish or undo a crashed predecessor,
 * observe, plan, run, record history, release the lock. Throws DeployFailed (exit 1) or
 * ManualInterventionRequired (exit 4) after recording a failure.
 */
export interface OperationGates {
  /** asked once the lock is held, before anything else: a reason stops here, unrecorded */
  afterLock?: () => Promise<string | null>;
  /** asked before each step until the commit (after the canary's own check) */
  beforeStep?: (index: number, step: PlannedStep) => Promise<string | null>;
  beforeCommit?: () => Promise<string | null>;
  /** asked once the plan is made, before anything runs: a reason stops here, unrecorded */
  afterPlan?: (plan: Plan) => Promise<string | null>;
}

export async function runOperation(ctx: RunContext, command: 'deploy' | 'rollback', makePlan: (o: Observed) => Plan, gates: OperationGates = {}): Promise<OperationReport> {
  const { transport: t, layout } = ctx;
  // a strategy the router cannot carry is refused before anything changes
  refuseIncapable(ctx);
  const started = ctx.clock.now();
  const startedMono = ctx.clock.monotonic();
  // the app's root under $DEPLOYER_HOME (the default): that directory is private too
  if (layout.root.startsWith(`${ctx.home}/`)) await t.fs.mkdirp(ctx.home, { private: true });
  await t.fs.mkdirp(layout.state, { private: true });
  const user = await t.user();
  const log = new DeployLog(layout.logs, ctx.deployId, ctx.redactor, () => ctx.clock.now());
  const emit = ctx.emit;
  ctx.emit = (e) => {
    // secrets are masked in what is shown (hook output with --verbose) as in what is written
    const shown = ctx.redactor.redactValue(e);
    log.write(shown);
    emit(shown);
  };
  const lock = await DeployLock.acquire(t, layout.lock, {
    deployId: ctx.deployId,
    command,
    clock: ctx.clock,
    onWarning: (message) => ctx.emit({ type: 'log', level: 'warn', message }),
  });
  lock.startHeartbeat();
  try {
    const stop = await gates.afterLock?.();
    if (stop) throw new FleetStopped(stop);
    const journal = await readJournal(t, layout.journal);
    if (journal === 'corrupt') {
      throw new DeployFailed(`${layout.journal} cannot be read, so an interrupted operation cannot be undone safely`, {
        hint: 'run `deployer doctor` to see the state, and `deployer doctor --repair` to set the journal aside',
      });
    }
    if (journal) {
      ctx.emit({ type: 'log', level: 'warn', message: `found an interrupted ${describeJournal(journal)}; recovering it first` });
      const r = await recoverJournal({ ...ctx }, journal, `${command} ${ctx.deployId}`);
      if (r.action === 'undo_failed') throw new ManualInterventionRequired(`could not undo the interrupted ${r.operation} ${r.deployId}; see \`deployer doctor\``);
      ctx.emit({ type: 'log', level: 'warn', message: `interrupted ${r.operation} ${r.deployId}: ${r.action === 'undone' ? 'undone' : 'its outcome was already decided; recorded it'}` });
    }

    const instances = ctx.instances;
    if (instances) await openInstances(ctx);
    const plan = makePlan(await observe(t, layout, instances ? () => observePools(instances, ctx.router) : undefined));
    const notReady = await gates.afterPlan?.(plan);
    if (notReady) {
      // nothing ran: a first deploy leaves nothing in the runtime either
      if ((await readCurrent(t, layout)) === null) await ctx.instances?.forgetIfEmpty?.();
      throw new FleetStopped(notReady);
    }
    const entryFor = (o: Pick<RunOutcome, 'result' | 'rolledBack' | 'error'>): HistoryEntry => ({
      deploy_id: ctx.deployId,
      operation: plan.operation,
      app: plan.app,
      release: plan.release,
      previous: plan.previous,
      strategy: plan.strategy,
      ...(ctx.data.version ? { version: ctx.data.version } : {}),
      result: o.result,
      rolled_back: o.rolledBack,
      host: ctx.hostName,
      user,
      started: started.toISOString(),
      finished: ctx.clock.now().toISOString(),
      duration_ms: Math.round(ctx.clock.monotonic() - startedMono),
      ...(o.error ? { error: ctx.redactor.redact(o.error) } : {}),
      ...(ctx.data.canary ? { canary: ctx.redactor.redactValue(ctx.data.canary.record(o.result)) } : {}),
    });
    // a canary answers promote/abort from its first step to its last, whichever step runs
    const canary = await CanarySession.start(ctx, plan);
    const runner = new Runner(ctx, {
      onCommit: () => writeLastDeploy(t, layout, entryFor({ result: 'succeeded', rolledBack: false })),
      beforeStep: async (i: number, p: PlannedStep) => (canary ? await canary.beforeStep(i, p) : null) ?? (gates.beforeStep ? await gates.beforeStep(i, p) : null),
      ...(gates.beforeCommit ? { beforeCommit: gates.beforeCommit } : {}),
    });
    const outcome = await runner.run(plan);
    // the canary's answers stay readable once it is over; while an undo is unfinished its
    // status stays as it is, saying where it stands
    if (canary && !outcome.undoFailed) await canary.finish().catch(() => undefined);
    const entry = entryFor(outcome);
    const unrecorded = await record(ctx, entry);
    // a failed undo leaves the journal, so `doctor --repair` or the next deploy can finish it;
    // so does an outcome the full disk kept out of the history, so that it records it later
    if (!outcome.undoFailed && !unrecorded) await t.fs.remove(layout.journal);
    log.write({ type: 'result', ...entry });
    const live = await readCurrent(t, layout);
    // a first deploy that failed leaves nothing in the runtime: not even the router's port
    if (outcome.result !== 'succeeded' && live === null) await ctx.instances?.forgetIfEmpty?.();
    const report: OperationReport = { plan, outcome, entry, logPath: log.path, live };
    // it succeeded, but the disk is too full to say so: exit 1 naming the file (doctor --repair records it)
    if (unrecorded && outcome.result === 'succeeded') throw unrecorded;
    if (outcome.result !== 'succeeded') {
      const failed = outcome.failedStep !== undefined ? plan.steps[outcome.failedStep] : undefined;
      const error = outcome.error ?? 'unknown error';
      // a failure the full disk did not cause itself still says the disk is full, and where
      const disk = outcome.unsaved && !error.includes(outcome.unsaved) ? `; then ${outcome.unsaved}` : '';
      const what = `${plan.operation} of ${plan.release} failed${failed ? ` ${outcome.stoppedBefore ? 'before' : 'at'} "${describeStep(failed.step)}"` : ''}: ${error}${disk}`;
      const now = live ? `${live} is live` : 'nothing is live';
      const err = outcome.manual
        ? new ManualInterventionRequired(`${what}; ${now}; manual intervention required`, {
            hint: outcome.undoFailed ? 'fix the cause, then `deployer doctor --repair` finishes undoing it' : `see the log ${log.path} and \`deployer status\``,
          })
        : new StepFailed(ctx.hostName, what, outcome.rolledBack && live ? `rolled back to ${live}` : now, { hint: `log: ${log.path}` });
      Object.assign(err, { report });
      throw err;
    }
    return report;
  } finally {
    await lock.release();
  }
}

/** Writes last_deploy.json and the history entry; a full disk is returned (the rest is thrown). */
async function record(ctx: RunContext, entry: HistoryEntry): Promise<DiskFullError | null> {
  try {
    await writeLastDeploy(ctx.transport, ctx.layout, entry);
    await appendHistory(ctx.transport, ctx.layout, entry);
    return null;
  } catch (e) {
    if (!isDiskFull(e)) throw e;
    return e instanceof DiskFullError ? e : new DiskFullError(ctx.layout.history, { cause: e });
  }
}

/** Tells the instance manager about the app (the runtime: router port, host names, health path) before anything runs. */
async function openInstances(ctx: RunContext): Promise<void> {
  try {
    await ctx.instances!.open?.();
  } catch (e) {
    if (e instanceof DeployFailed) {
      const live = await readCurrent(ctx.transport, ctx.layout);
      throw new DeployFailed(e.message, { hint: live ? `nothing was changed; ${live} keeps serving` : 'nothing was changed' });
    }
    throw e;
  }
}
