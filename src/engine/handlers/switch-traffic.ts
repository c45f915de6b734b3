import type { Step } from '../../plan/steps.js';
import { readCurrent } from '../../state/records.js';
import { instancesOf, routerOf, type RunContext } from '../context.js';
import { crashPoint } from '../crash.js';
import { setPointers, switchTo } from './activate.js';
import { servingTargetsHealth, waitAllHealthy } from './runtime-ops.js';
import { nothingChanged, type StepHandler } from './types.js';

type Switch = Extract<Step, { kind: 'switch_traffic' }>;
type SetCurrent = Extract<Step, { kind: 'set_current' }>;

const SLOTS = new Set(['blue', 'green']);

/**
 * What moving all traffic to `to` needs first: the pool must be there and healthy, and a stop
 * scheduled for it (an earlier deploy's scale-down) must not happen. Changes nothing else.
 */
async function readyToRoute(ctx: RunContext, to: string | null): Promise<void> {
  if (!to) return;
  // it serves again: cancel its scheduled stop, and check it is still there and healthy (a warm
  // slot's delay may just have run out); the two reads go together
  const [, targets] = await Promise.all([instancesOf(ctx).stopPoolAfter(to, null), servingTargetsHealth(ctx, to)]);
  if (targets.length === 0) throw new Error(`pool ${to} has no instances to take the traffic`);
  // the ones the router itself finds healthy now need no second look
  const unsure = targets.filter((t) => t.health !== 'healthy').map((t) => t.id);
  if (unsure.length > 0) await waitAllHealthy(ctx, unsure);
}

/** All traffic to `to`, none to any other pool: one weights update, atomic in the router. */
async function setRoute(ctx: RunContext, to: string | null, others: (string | null)[]): Promise<void> {
  // every pool left out gets 0 (the router's contract)
  const weights: Record<string, number> = {};
  for (const p of others) if (p) weights[p] = 0;
  if (to) weights[to] = 100;
  try {
    await routerOf(ctx).setWeights(weights);
  } catch (e) {
    // the router may have applied it before failing to answer: count it as moved
    throw new WeightsSet(e);
  }
}

async function route(ctx: RunContext, to: string | null, others: (string | null)[]): Promise<void> {
  await readyToRoute(ctx, to);
  await setRoute(ctx, to, others);
}

/** A failure at or after the weights update: the traffic may have moved. */
class WeightsSet extends Error {
  constructor(readonly reason: unknown) {
    super(String(reason));
  }
}

async function links(ctx: RunContext, slot: string | null, release: string | null): Promise<void> {
  const fs = ctx.transport.fs;
  if (release) await switchTo(ctx, release);
  else await fs.remove(ctx.layout.current);
  if (slot && SLOTS.has(slot)) {
    if (release) await fs.symlinkAtomic(ctx.layout.currentTarget(release), ctx.layout.slot(slot));
    await fs.symlinkAtomic(slot, ctx.layout.active);
  }
}

/** Blue-green's switch: traffic moves to the new pool in one step; `current` and `active` follow. */
export const switchTrafficHandler: StepHandler<Switch> = {
  async run(step, ctx) {
    // the pointers are on disk before any traffic moves; they are written while the target pool
    // is checked, so the switch waits on neither twice
    const [pointers, ready] = await Promise.allSettled([setPointers(ctx, step.pointers), readyToRoute(ctx, step.to)]);
    // a pointer half written is put back by the undo, as before
    if (pointers.status === 'rejected') throw pointers.reason;
    try {
      if (ready.status === 'rejected') throw ready.reason;
      await setRoute(ctx, step.to, [step.from]);
    } catch (e) {
      if (e instanceof WeightsSet) throw e.reason;
      // no weight moved (the target pool was not there or not healthy): put the pointers back
      // and say nothing changed, so the step is neither undone nor counted as live
      await setPointers(ctx, step.pointersBefore);
      throw nothingChanged(e instanceof Error ? e : new Error(String(e)));
    }
    crashPoint('switch:routed');
    await links(ctx, step.to, step.release);
    return { status: 'done', detail: `100% of traffic to ${step.to}` };
  },
  async undo(step, ctx) {
    await route(ctx, step.from, [step.to]);
    await links(ctx, step.from, step.previous);
    await setPointers(ctx, step.pointersBefore);
  },
};

/** Rolling: the instances already run the release; `current` records it. */
export const setCurrentHandler: StepHandler<SetCurrent> = {
  async run(step, ctx) {
    await setPointers(ctx, step.pointers);
    await switchTo(ctx, step.release);
    return { status: 'done' };
  },
  async undo(step, ctx) {
    if ((await readCurrent(ctx.transport, ctx.layout)) === step.release) {
      if (step.previous) await switchTo(ctx, step.previous);
      else await ctx.transport.fs.remove(ctx.layout.current);
    }
    await setPointers(ctx, step.pointersBefore);
  },
};
