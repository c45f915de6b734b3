import type { Plan } from '../plan/steps.js';
import { readJournal } from '../state/journal.js';
import { inspectLock } from '../state/lock.js';
import type { Observed } from '../strategies/observe.js';
import type { RunContext } from './context.js';
import { refuseIncapable } from './capabilities.js';
import { observe, observePools } from './observe.js';
import { describeJournal, projectRecovery } from './recovery.js';
import { previewRouterSteps } from './router-preview.js';

export interface DryRun {
  plan: Plan;
  notes: string[];
  /** per step of plan.steps, what the router would do (null: the step does not touch it) */
  router: (string[] | null)[];
}

/**
 * The plan a real run would execute, from the state it would see: after it has undone an
 * interrupted operation. Notes say what a real run would meet first (a held lock, a journal).
 * What runs the instances is looked at when it runs (a dry run starts nothing).
 */
export async function dryRunPlan(ctx: RunContext, makePlan: (o: Observed) => Plan): Promise<DryRun> {
  refuseIncapable(ctx);
  const instances = ctx.instances;
  const up = instances ? ((await ctx.connectInstances?.(true))?.connected ?? true) : false;
  let observed = await observe(ctx.transport, ctx.layout, instances && up ? () => observePools(instances, ctx.router) : undefined);
  const notes: string[] = [];
  const lock = await inspectLock(ctx.transport, ctx.layout.lock);
  if (lock.state === 'held') notes.push(`the lock is held by ${lock.owner.command ?? 'deploy'} ${lock.owner.deploy_id} (pid ${lock.owner.pid} on ${lock.owner.host}): a real run would exit 3`);
  const journal = await readJournal(ctx.transport, ctx.layout.journal);
  if (journal && journal !== 'corrupt' && lock.state !== 'held') {
    notes.push(`first, the interrupted ${describeJournal(journal)} is ${journal.state === 'committed' || journal.state === 'finished' ? 'recorded' : 'undone'}`);
    observed = projectRecovery(observed, journal);
  }
  if (journal === 'corrupt') notes.push('journal.json is unreadable: a real run would stop (see `deployer doctor`)');
  const plan = makePlan(observed);
  // what the router would do at each step, from what it holds now (a dry run starts nothing: a new pool's targets are the planned instances)
  const router = await previewRouterSteps(ctx.router, plan.steps);
  return ctx.redactor.redactValue({ plan, notes, router });
}
