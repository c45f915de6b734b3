import type { Command } from 'commander';
import type { OperationReport } from '../../engine/operation.js';
import { runOperation } from '../../engine/operation.js';
import { refuseIncapable } from '../../engine/capabilities.js';
import { dryRunPlan } from '../../engine/dry-run.js';
import type { RunContext } from '../../engine/context.js';
import type { LoadedManifest } from '../../manifest/load.js';
import type { Plan } from '../../plan/steps.js';
import { nextReleaseId } from '../../release/id.js';
import type { Observed } from '../../strategies/observe.js';
import { systemClock } from '../../util/clock.js';
import { buildContext, loadFromOptions, refuseUnfetchable, refuseUnsupported, type GlobalOptions } from '../context.js';
import { markJsonPrinted } from '../json-printed.js';
import { formatMs } from '../render/style.js';
import type { FleetInput } from '../../fleet/drive.js';
import type { Manifest } from '../../manifest/schema/index.js';
import { hostFilter, isFleet, selectHosts } from '../../hosts/targets.js';
import { globals, output, progress, warnAll } from './common.js';

export interface OperateSpec {
  command: 'deploy' | 'rollback';
  strategy(loaded: LoadedManifest): string;
  plan(loaded: LoadedManifest, observed: Observed, ids: { deployId: string; release: string }): Plan;
  versionOverride?: string;
  dryRun?: boolean;
  /** the same operation as a fleet's hosts run it */
  fleetOp: FleetInput['op'];
}

/** Shared by deploy and rollback: load, refuse what is not built, plan (dry run) or run, report. */
export async function operate(cmd: Command, spec: OperateSpec): Promise<void> {
  const o: GlobalOptions = globals(cmd);
  const out = output(o);
  const loaded = await loadFromOptions(o);
  warnAll(loaded.warnings);
  const strategy = spec.strategy(loaded);
  if (spec.command === 'deploy') refuseUnfetchable(loaded);
  refuseUnsupported(loaded, spec.command === 'deploy' ? strategy : undefined);
  const targets = selectHosts(loaded.manifest.hosts, hostFilter(o.hosts, o.roles));
  if (isFleet(targets)) {
    const { operateFleet } = await import('./fleet-operate.js');
    const op = spec.fleetOp.command === 'deploy' ? { ...spec.fleetOp, strategy: strategy as Manifest['deployment']['strategy'] } : spec.fleetOp;
    return operateFleet(o, loaded, targets, op, Boolean(spec.dryRun));
  }
  const render = progress(o);
  const ctx = buildContext({ loaded, emit: render.handle, strategy, ...(spec.versionOverride ? { versionOverride: spec.versionOverride } : {}) });
  const makePlan = (observed: Observed) => {
    const taken = new Set(observed.releases.map((r) => r.id));
    const release = nextReleaseId(ctx.clock.now(), (id) => taken.has(id));
    return spec.plan(loaded, observed, { deployId: ctx.deployId, release });
  };

  if (spec.dryRun) {
    const { plan, notes, router } = await dryRunPlan(ctx, makePlan);
    for (const n of notes) render.handle({ type: 'log', level: 'warn', message: n });
    render.printPlan(plan, router);
    if (out.isJson) out.json({ dry_run: true, deploy_id: plan.deployId, app: plan.app, release: plan.release, strategy: plan.strategy, previous: plan.previous, notes, steps: planStepsJson(plan, router) });
    return;
  }

  const started = systemClock.monotonic();
  refuseIncapable(ctx);
  const connected = await ctx.connectInstances?.();
  if (connected?.note) render.handle({ type: 'log', level: 'info', message: connected.note });
  const stopInterrupts = onInterrupt(ctx, (m) => render.handle({ type: 'log', level: 'warn', message: m }));
  let report: OperationReport;
  try {
    report = await runOperation(ctx, spec.command, makePlan);
  } catch (e) {
    stopInterrupts();
    render.close();
    const failed = (e as { report?: OperationReport }).report;
    if (failed && out.isJson) {
      out.json(resultJson(failed, started));
      markJsonPrinted(e as object);
    }
    throw e;
  }
  stopInterrupts();
  render.close();
  for (const w of report.outcome.warnings) process.stderr.write(`${out.style.yellow('warning:')} ${w}\n`);
  const e = report.entry;
  if (out.isJson) out.json(resultJson(report, started));
  else
    out.line(
      `${out.style.green('✔')} ${e.operation === 'deploy' ? 'deployed' : 'rolled back to'} ${e.app} release ${e.release}${e.version ? ` (version ${e.version})` : ''} in ${formatMs(e.duration_ms)}${e.previous ? `; previous: ${e.previous}` : ''}`,
    );
}

/** A dry run's steps for --json: each step, its on_error, and (steps that touch it) what the router would do. */
export function planStepsJson(plan: Plan, router?: readonly (string[] | null)[]) {
  return plan.steps.map((p, i) => ({ ...p.step, on_error: p.onError, ...(router?.[i] ? { router: router[i] } : {}) }));
}

/** The `--json` result line of DESIGN §6. */
function resultJson(r: OperationReport, started: number) {
  const e = r.entry;
  return {
    deploy_id: e.deploy_id,
    operation: e.operation,
    app: e.app,
    release: e.release,
    previous: e.previous,
    version: e.version ?? null,
    strategy: e.strategy,
    result: e.result,
    rolled_back: e.rolled_back,
    hosts: [{ host: e.host, release: r.live, result: e.result }],
    duration_ms: Math.round(systemClock.monotonic() - started),
    ...(e.error ? { error: e.error } : {}),
    // a canary: how it ended and why (every interval: `deployer history <deploy_id> --json`)
    ...(e.canary ? { canary: { outcome: e.canary.outcome, ...(e.canary.reason ? { reason: e.canary.reason } : {}), stages_done: e.canary.stages_done, intervals: e.canary.intervals_total } } : {}),
    warnings: r.outcome.warnings,
    log: r.logPath,
  };
}

/**
 * Ctrl-C (or SIGTERM) during an operation: stop after the current step and undo, so the lock is
 * released and nothing is left half-done. A second one exits at once; the journal then lets
 * `deployer doctor --repair` or the next deploy finish the job.
 */
function onInterrupt(ctx: RunContext, warn: (m: string) => void): () => void {
  const ac = new AbortController();
  ctx.signal = ac.signal;
  const handler = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\n${sig} again: stopping now; run \`deployer doctor --repair\` to undo what was left\n`);
      process.exit(130);
    }
    warn(`${sig}: stopping after the current step and undoing the deploy (${sig} again to stop at once)`);
    ac.abort(sig);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
