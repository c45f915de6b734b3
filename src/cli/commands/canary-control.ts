import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { DeployFailed, UsageError } from '../../errors.js';
import type { Transport } from '../../hosts/transport.js';
import type { AppLayout } from '../../release/layout.js';
import { readCanaryStatus, withdrawCanaryCommand, writeCanaryCommand, type CanaryAck, type CanaryAction, type CanaryCommand } from '../../state/canary.js';
import { inspectLock } from '../../state/lock.js';
import { readLastDeploy } from '../../state/records.js';
import { systemClock } from '../../util/clock.js';
import { markJsonPrinted } from '../json-printed.js';
import { openApp } from '../context.js';
import { globals, output, type Out } from './common.js';

/** How long promote/abort wait for the deploy to take the request before withdrawing it. */
const TAKE_TIMEOUT_MS = 30_000;

/** `deployer promote` and `deployer abort`: ask the canary deploy in progress, wait for its answer. */
export function registerCanaryControl(program: Command): void {
  program
    .command('promote')
    .description('move the canary in progress on: end the current stage or pause now (--full: skip every remaining stage and promote)')
    .option('--full', 'skip the remaining stages and analysis, and promote now')
    .action((opts: { full?: boolean }, cmd: Command) => request(cmd, 'promote', opts.full === true));
  program
    .command('abort')
    .description('abort the canary in progress: its weight goes to 0 at once, it stops, and the deploy is undone')
    .action((_opts, cmd: Command) => request(cmd, 'abort', false));
}

async function request(cmd: Command, action: CanaryAction, full: boolean): Promise<void> {
  const o = globals(cmd);
  const out = output(o);
  const { loaded, t, layout } = await openApp(o);
  const app = loaded.manifest.name;
  const [status, lock] = await Promise.all([readCanaryStatus(t, layout), inspectLock(t, layout.lock)]);
  if (!status || status.phase === 'ended') {
    const busy = lock.state === 'held' ? ` (${lock.owner.command ?? 'deploy'} ${lock.owner.deploy_id} holds the lock, but it is not a canary: a first deploy has nothing to compare with and goes in whole)` : '';
    throw new UsageError(`no canary deploy of ${app} is in progress: nothing to ${action}${busy}`, { hint: 'see `deployer status`' });
  }
  const what = `the canary ${status.release} of ${app} (deploy ${status.deploy_id})`;
  if (lock.state !== 'held' || lock.owner.deploy_id !== status.deploy_id) {
    throw new DeployFailed(`${what} is no longer running (${lock.state === 'stale' ? lock.reason : 'its lock is gone'})`, { hint: 'run `deployer doctor --repair` to undo what it left' });
  }
  const answer = (done: boolean, note: string) => {
    if (out.isJson) out.json({ app, deploy_id: status.deploy_id, action, full, acknowledged: true, done, note });
    if (!done) throw markJsonPrinted(new DeployFailed(`${action} refused by ${what}: ${note}`, action === 'abort' && status.phase === 'promoted' ? { hint: '`deployer rollback` takes it back' } : {}), out.isJson);
    if (!out.isJson) out.line(`${action === 'abort' ? 'aborted' : 'promoted'} ${what}: ${note}`);
  };
  // traffic has already moved: nothing to abort, nothing left to promote
  if (status.phase === 'promoted') return answer(action === 'promote', action === 'abort' ? 'the canary has been promoted: traffic has moved to it' : 'already promoted');
  const by = `${await t.user()}@${await t.hostname()}`;
  // a plain promote names the stage it saw (0: none), so it cannot end another by arriving late
  const stage = action === 'promote' && !full ? { stage: status.stage?.index ?? 0 } : {};
  const c: CanaryCommand = { id: randomUUID(), deploy_id: status.deploy_id, action, ...(full ? { full } : {}), ...stage, by, at: systemClock.now().toISOString() };
  await writeCanaryCommand(t, layout, c);
  const ack = await waitForAnswer(t, layout, c);
  if (ack) return answer(ack.done, ack.note);
  await ended(out, t, layout, c, what, full);
}

/** The deploy ended without answering: say how it ended, and fail when that is not what was asked. */
async function ended(out: Out, t: Transport, layout: AppLayout, c: CanaryCommand, what: string, full: boolean): Promise<void> {
  const last = await readLastDeploy(t, layout);
  const result = last?.deploy_id === c.deploy_id ? last.result : null;
  const note = `the deploy ${result === null ? 'ended' : `ended (${result === 'succeeded' ? 'promoted' : result})`} before it could act on ${c.action}`;
  if (out.isJson) out.json({ app: last?.app ?? null, deploy_id: c.deploy_id, action: c.action, full, acknowledged: false, done: false, note });
  // an abort that came too late, or a promote of a canary that failed, is not what was asked
  if ((c.action === 'abort' && result === 'succeeded') || (c.action === 'promote' && result !== 'succeeded')) {
    throw markJsonPrinted(new DeployFailed(`${what}: ${note}`, c.action === 'abort' ? { hint: '`deployer rollback` takes it back' } : {}), out.isJson);
  }
  if (!out.isJson) out.line(`${what}: ${note}`);
}

/**
 * The deploy's answer to command `c`, or null when the deploy ended (or died) without giving one.
 * A request not taken within TAKE_TIMEOUT_MS (the deploy is in a long step) is withdrawn, so it
 * is not acted on later, after this has reported a failure.
 */
async function waitForAnswer(t: Transport, layout: AppLayout, c: CanaryCommand): Promise<CanaryAck | null> {
  const deadline = systemClock.monotonic() + TAKE_TIMEOUT_MS;
  for (let n = 0; ; n++) {
    const s = await readCanaryStatus(t, layout);
    const ack = s?.acks?.find((a) => a.id === c.id);
    if (ack) return ack;
    if (!s || s.deploy_id !== c.deploy_id) return null;
    if (n % 10 === 9) {
      const lock = await inspectLock(t, layout.lock);
      if (lock.state !== 'held' || lock.owner.deploy_id !== c.deploy_id) {
        // it may have answered just before it ended
        const final = (await readCanaryStatus(t, layout))?.acks?.find((a) => a.id === c.id);
        if (final) return final;
        if (lock.state === 'stale') throw new DeployFailed(`the canary deploy ${c.deploy_id} died (${lock.reason}) before answering`, { hint: 'run `deployer doctor --repair` to undo what it left' });
        return null;
      }
    }
    if (systemClock.monotonic() > deadline && (await withdrawCanaryCommand(t, layout, c))) {
      throw new DeployFailed(`the deploy ${c.deploy_id} did not take the ${c.action} request within ${TAKE_TIMEOUT_MS / 1000} s (it is busy in a long step); the request was withdrawn`, {
        hint: 'try again; `deployer status` shows what it is doing',
      });
    }
    await systemClock.sleep(50);
  }
}
