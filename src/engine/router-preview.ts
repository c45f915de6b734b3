// What each step of a plan would make the router do, for `--dry-run`: the steps' router calls
// (as the handlers make them) previewed in plan order from the router's state now.
import type { PlannedStep, Step } from '../plan/steps.js';
import type { Router, RouterAction } from '../routers/types.js';

/** Where the process manager's instances listen, as a router reaches them (services/process.ts). */
const INSTANCE_HOST = '127.0.0.1';

/** The router changes a step makes when it runs (none: it does not touch the router). */
export function routerActionsOf(step: Step): RouterAction[] {
  switch (step.kind) {
    case 'start_instances':
      return [{ kind: 'add_targets', pool: step.pool, targets: step.instances.map((i) => ({ id: i.id, host: INSTANCE_HOST, port: i.port, release: step.release })) }];
    case 'start_instance':
      return [{ kind: 'add_targets', pool: step.pool, targets: [{ id: step.id, host: INSTANCE_HOST, port: step.port, release: step.release }] }];
    case 'stop_instances':
      // stopped later by the daemon (kept warm): nothing changes in the router now
      return step.delayMs > 0 ? [] : [{ kind: 'remove_targets', ids: step.instances }];
    case 'stop_instance':
      return [{ kind: 'remove_targets', ids: [step.id] }];
    case 'switch_traffic':
      return [{ kind: 'weights', weights: { ...(step.from && step.from !== step.to ? { [step.from]: 0 } : {}), [step.to]: 100 } }];
    case 'set_weights':
      return [{ kind: 'weights', weights: step.weights }];
    case 'drain_target':
      return [{ kind: 'drain', id: step.id }];
    case 'enable_target':
      return [{ kind: 'enable', id: step.id }];
    case 'set_routes':
      return [{ kind: 'routes', routes: step.routes }];
    default:
      return [];
  }
}

/**
 * Per step, the lines of what the router would do (null: the step does not touch it, or the
 * router has no preview). A router that cannot be read says so under each step that touches it.
 */
export async function previewRouterSteps(router: Router | undefined, steps: readonly PlannedStep[]): Promise<(string[] | null)[]> {
  const perStep = steps.map((p) => routerActionsOf(p.step));
  const actions = perStep.flat();
  if (!router?.preview || actions.length === 0) return steps.map(() => null);
  let previews: string[][];
  try {
    previews = (await router.preview(actions)).map((p) => p.lines);
  } catch (e) {
    const why = [`cannot preview: ${(e as Error).message}`];
    return perStep.map((a) => (a.length ? why : null));
  }
  let next = 0;
  return perStep.map((a) => {
    const lines = a.flatMap(() => previews[next++] ?? []);
    return lines.length ? lines : null;
  });
}
