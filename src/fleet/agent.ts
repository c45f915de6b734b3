import { dirname } from 'node:path';
import { DeployerError, errorMessage } from '../errors.js';
import { buildContext } from '../wiring/context.js';
import type { RunContext } from '../engine/context.js';
import { refuseIncapable } from '../engine/capabilities.js';
import { dryRunPlan } from '../engine/dry-run.js';
import { runOperation, type OperationReport } from '../engine/operation.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { Plan, PlannedStep } from '../plan/steps.js';
import { describeStep } from '../plan/steps.js';
import { planDeploy } from '../strategies/index.js';
import type { Observed } from '../strategies/observe.js';
import { planRollback } from '../strategies/rollback.js';
import { switchIndex } from './gates.js';
import { loadedFromHost } from './host-manifest.js';
import { lineReader, type AgentOp, type FromAgent, type Gate, type ToAgent } from './protocol.js';

const LOST = 'the connection to the machine driving the deploy was lost';

/** A queue over the messages the driving machine sends; null once its side of the pipe closed. */
class Inbox {
  private queue: (ToAgent | null)[] = [];
  private waiting: ((m: ToAgent | null) => void) | null = null;
  /** called for a message nobody waits for (an interrupt while a step runs) */
  onUnsolicited: (m: ToAgent | null) => void = () => undefined;
  /** why the driver wants this host to stop, once it said so (or went away) */
  stopped: string | null = null;
  private closed = false;

  push(m: ToAgent | null): void {
    if (this.closed) return;
    if (m === null) this.closed = true;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(m);
    } else if (m?.type === 'start' || m?.type === 'go') this.queue.push(m);
    else {
      // remembered: it may come before the agent is ready to act on it, say during its start
      this.stopped ??= m === null ? LOST : m.reason;
      this.onUnsolicited(m);
    }
  }

  next(): Promise<ToAgent | null> {
    if (this.queue.length) return Promise.resolve(this.queue.shift()!);
    if (this.closed) return Promise.resolve(null);
    return new Promise((r) => (this.waiting = r));
  }
}

export function planFor(op: AgentOp, loaded: LoadedManifest, observed: Observed, deployId: string): Plan {
  if (op.command === 'deploy') return planDeploy(op.strategy, loaded, observed, { deployId, release: op.release });
  return planRollback(loaded, observed, { deployId, ...(op.to ? { to: op.to } : {}), ...(op.forward ? { forward: true } : {}) });
}

function errorOf(e: unknown): { name: string; message: string; hint?: string; exitCode: number } {
  if (e instanceof DeployerError) return { name: e.name, message: e.message, ...(e.hint ? { hint: e.hint } : {}), exitCode: e.exitCode };
  return { name: 'Error', message: errorMessage(e), exitCode: 1 };
}

/**
 * The host side of a fleet deploy: reads the start message, runs the ordinary one-host
 * operation, and waits at each gate (ready, switch, canary stage, commit) for the driving
 * machine's word. A closed pipe means the driver is gone: stop at the next gate and undo.
 */
export async function runAgent(input: NodeJS.ReadableStream, send: (m: FromAgent) => void): Promise<number> {
  const inbox = new Inbox();
  input.on('data', lineReader((m) => inbox.push(m as ToAgent)));
  input.on('end', () => inbox.push(null));
  input.on('error', () => inbox.push(null));
  const start = await inbox.next();
  if (start?.type !== 'start') return 2;

  const loaded = loadedFromHost(start);
  const op = start.op;
  const ctx: RunContext = buildContext({
    loaded,
    emit: (event) => send({ type: 'event', event }),
    strategy: op.command === 'deploy' ? op.strategy : 'rollback',
    ...(op.command === 'deploy' && op.versionOverride ? { versionOverride: op.versionOverride } : {}),
  });
  ctx.deployId = start.deployId;
  ctx.hostName = start.hostName;
  ctx.fleet = { primary: start.primary };
  const makePlan = (o: Observed) => planFor(op, loaded, o, ctx.deployId);
  try {
    if (start.dryRun) {
      const { plan, notes, router } = await dryRunPlan(ctx, makePlan);
      send({ type: 'planned', plan, notes, router });
      return 0;
    }
    refuseIncapable(ctx);
    await ctx.connectInstances?.();
  } catch (e) {
    send({ type: 'failed', error: errorOf(e) });
    return errorOf(e).exitCode;
  }

  const ac = new AbortController();
  ctx.signal = ac.signal;
  const lost = LOST;
  if (inbox.stopped) ac.abort(inbox.stopped);
  inbox.onUnsolicited = (m) => {
    if (m === null) ac.abort(lost);
    else if (m.type === 'interrupt' || m.type === 'stop') ac.abort(m.reason);
  };
  const gate = async (g: Gate, index: number, extra: Partial<Extract<FromAgent, { type: 'gate' }>> = {}): Promise<string | null> => {
    if (ac.signal.aborted || inbox.stopped) return String(inbox.stopped ?? ac.signal.reason);
    send({ type: 'gate', gate: g, index, ...extra });
    const m = await inbox.next();
    if (m === null) return lost;
    if (m.type === 'stop' || m.type === 'interrupt') return m.reason;
    if (m.type === 'go' && m.upload && g === 'ready') ctx.fleet = { ...ctx.fleet!, upload: { dir: extra.incoming!, staged: m.upload } };
    return null;
  };
  let switchAt = -1;
  let incomingDir: string | null = null;
  // plan made, nothing run: the driver uploads the release, then says go
  const afterPlan = async (plan: Plan): Promise<string | null> => {
    switchAt = switchIndex(plan);
    const incoming = ctx.layout.incoming(plan.release);
    if (plan.operation === 'deploy') {
      incomingDir = incoming;
      // an upload a killed deploy left is not ours to keep (we hold the lock: nobody else uploads)
      await ctx.transport.fs.remove(dirname(incoming));
      await ctx.transport.fs.mkdirp(dirname(incoming));
    }
    const stop = await gate('ready', 0, {
      plan: { release: plan.release, previous: plan.previous, strategy: plan.strategy, steps: plan.steps.map((s) => describeStep(s.step)) },
      appRoot: ctx.layout.root,
      incoming,
    });
    if (stop) return stop;
    if (plan.operation === 'deploy' && !ctx.fleet?.upload) return 'the release was not uploaded';
    return null;
  };
  const beforeStep = async (i: number, p: PlannedStep): Promise<string | null> => {
    if (i === switchAt) return gate('switch', i);
    if (i > switchAt && p.step.kind === 'set_weights' && p.step.stage !== undefined) return gate('stage', i);
    return null;
  };
  let report: OperationReport | undefined;
  try {
    report = await runOperation(ctx, op.command, makePlan, { afterLock: () => gate('locked', -1), afterPlan, beforeStep, beforeCommit: () => gate('commit', -1) });
    send({ type: 'done', entry: report.entry, live: report.live, warnings: report.outcome.warnings, log: report.logPath });
    return 0;
  } catch (e) {
    const failed = (e as { report?: OperationReport }).report;
    send({
      type: 'failed',
      error: errorOf(e),
      ...(failed ? { entry: failed.entry, live: failed.live, warnings: failed.outcome.warnings, log: failed.logPath } : {}),
    });
    return errorOf(e).exitCode;
  } finally {
    // an upload the deploy never installed (it stopped before) is not left behind
    if (incomingDir) await ctx.transport.fs.remove(incomingDir).catch(() => undefined);
  }
}

/** `node agent.js` (src/fleet/agent-main.ts): stdin/stdout are the SSH session's. */
export async function agentMain(): Promise<number> {
  // the driver going away must not kill the agent mid-step: it stops at the next gate and undoes
  process.on('SIGHUP', () => undefined);
  process.on('SIGPIPE', () => undefined);
  let out = true;
  process.stdout.on('error', () => (out = false));
  const send = (m: FromAgent) => {
    if (out) process.stdout.write(`${JSON.stringify(m)}\n`);
  };
  const code = await runAgent(process.stdin, send);
  process.stdin.destroy();
  return code;
}
