import type { Command } from 'commander';
import { DeployFailed, UsageError } from '../../errors.js';
import { newCommandId } from '../../engine/canary/session.js';
import { readCanaryStatus, writeCanaryCommand, type CanaryAck, type CanaryAction } from '../../state/canary.js';
import { inspectLock } from '../../state/lock.js';
import { readLastDeploy } from '../../state/records.js';
import { systemClock } from '../../util/clock.js';
import { openApp } from '../context.js';
import { globals, output } from './common.js';

/** How long promote/abort wait for the deploy to answer. */
const ACK_TIMEOUT_MS = 30_000;

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
  if (!status) {
    const busy = lock.state === 'held' ? ` (${lock.owner.command ?? 'deploy'} ${lock.owner.deploy_id} holds the lock, but it is not a canary: a first deploy has nothing to compare with and goes in whole)` : '';
    throw new UsageError(`no canary deploy of ${app} is in progress: nothing to ${action}${busy}`, { hint: 'see `deployer status`' });
  }
  if (lock.state !== 'held' || lock.owner.deploy_id !== status.deploy_id) {
    throw new DeployFailed(`the canary deploy ${status.deploy_id} of ${app} is no longer running (${lock.state === 'stale' ? lock.reason : 'its lock is gone'})`, {
      hint: 'run `deployer doctor --repair` to undo what it left',
    });
  }
  const id = newCommandId();
  const by = `${await t.user()}@${await t.hostname()}`;
  // a plain promote names the stage it means, so it cannot end the next one by arriving late
  const stage = action === 'promote' && !full && status.stage ? { stage: status.stage.index } : {};
  await writeCanaryCommand(t, layout, { id, deploy_id: status.deploy_id, action, ...(full ? { full } : {}), ...stage, by, at: systemClock.now().toISOString() });
  const ack = await waitForAck(t, layout, id, status.deploy_id);
  const what = `the canary ${status.release} of ${app} (deploy ${status.deploy_id})`;
  if (!ack) {
    const last = await readLastDeploy(t, layout);
    const result = last?.deploy_id === status.deploy_id ? last.result : 'ended';
    const note = `the deploy ${result === 'ended' ? 'ended' : `ended (${result === 'succeeded' ? 'promoted' : result})`} before it could act on ${action}`;
    if (out.isJson) out.json({ app, deploy_id: status.deploy_id, action, full, acknowledged: false, done: false, note });
    // an abort that came too late, or a promote of a canary that failed: not what was asked
    if ((action === 'abort' && result === 'succeeded') || (action === 'promote' && result !== 'succeeded')) {
      throw new DeployFailed(`${what}: ${note}`, action === 'abort' ? { hint: '`deployer rollback` takes it back' } : {});
    }
    if (!out.isJson) out.line(`${what}: ${note}`);
    return;
  }
  if (out.isJson) out.json({ app, deploy_id: status.deploy_id, action, full, acknowledged: true, done: ack.done, note: ack.note });
  if (!ack.done) throw new DeployFailed(`${action} refused by ${what}: ${ack.note}`);
  if (!out.isJson) out.line(`${action === 'abort' ? 'aborted' : 'promoted'} ${what}: ${ack.note}`);
}

type Fs = Parameters<typeof readCanaryStatus>;

/** The deploy's answer to request `id`; null when the deploy ended first. */
async function waitForAck(t: Fs[0], layout: Fs[1], id: string, deployId: string): Promise<CanaryAck | null> {
  const deadline = systemClock.monotonic() + ACK_TIMEOUT_MS;
  for (;;) {
    const s = await readCanaryStatus(t, layout);
    const ack = s?.acks?.find((a) => a.id === id);
    if (ack) return ack;
    if (!s || s.deploy_id !== deployId) return null;
    if (systemClock.monotonic() > deadline) {
      throw new DeployFailed(`the deploy ${deployId} did not answer within ${ACK_TIMEOUT_MS / 1000} s (it may be busy in a long step)`, {
        hint: 'the request stays queued and is answered at its next check; see `deployer status`',
      });
    }
    await systemClock.sleep(50);
  }
}
