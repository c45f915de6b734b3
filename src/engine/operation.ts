import { DeployFailed, ManualInterventionRequired } from '../errors.js';
import type { Plan } from '../plan/steps.js';
import { readJournal } from '../state/journal.js';
import { DeployLock } from '../state/lock.js';
import { appendHistory, writeLastDeploy, type HistoryEntry } from '../state/records.js';
import type { Observed } from '../strategies/observe.js';
import { observe } from '../strategies/observe.js';
import type { RunContext } from './context.js';
import { DeployLog } from './deploy-log.js';
import { describeJournal, recoverJournal } from './recovery.js';
import { Runner, type RunOutcome } from './runner.js';

export interface OperationReport {
  plan: Plan;
  outcome: RunOutcome;
  entry: HistoryEntry;
  logPath: string;
}

/**
 * One deploy or rollback on one host: take the lock, finish or undo a crashed predecessor,
 * observe, plan, run, record history, release the lock. Throws DeployFailed (exit 1) or
 * ManualInterventionRequired (exit 4) after recording a failure.
 */
export async function runOperation(ctx: RunContext, command: 'deploy' | 'rollback', makePlan: (o: Observed) => Plan): Promise<OperationReport> {
  const { transport: t, layout } = ctx;
  const started = ctx.clock.now();
  const startedMono = ctx.clock.monotonic();
  await t.fs.mkdirp(layout.state);
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
      ctx.emit({ type: 'log', level: 'warn', message: `interrupted ${r.operation} ${r.deployId}: ${r.action === 'finished' ? 'it had succeeded; recorded it' : 'undone'}` });
    }

    const plan = makePlan(await observe(t, layout));
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
    });
    const runner = new Runner(ctx, {
      onCommit: () => writeLastDeploy(t, layout, entryFor({ result: 'succeeded', rolledBack: false })),
    });
    const outcome = await runner.run(plan);
    const entry = entryFor(outcome);
    await writeLastDeploy(t, layout, entry);
    await appendHistory(t, layout, entry);
    await t.fs.remove(layout.journal);
    log.write({ type: 'result', ...entry });
    const report = { plan, outcome, entry, logPath: log.path };
    if (outcome.result !== 'succeeded') {
      const what = `${plan.operation} of ${plan.release} failed: ${outcome.error ?? 'unknown error'}`;
      const err = outcome.manual
        ? new ManualInterventionRequired(`${what}; manual intervention required`, { hint: `see the log ${log.path} and \`deployer status\`` })
        : new DeployFailed(outcome.rolledBack ? `${what}; rolled back to ${plan.previous}` : plan.previous === null && plan.operation === 'deploy' ? `${what}; nothing was live before, so nothing is live now` : `${what}; ${plan.previous} is still live`, { hint: `log: ${log.path}` });
      Object.assign(err, { report });
      throw err;
    }
    return report;
  } finally {
    await lock.release();
  }
}
