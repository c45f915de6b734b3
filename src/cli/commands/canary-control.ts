import type { Command } from 'commander';
import { hostname, userInfo } from 'node:os';
import { DeployFailed, UsageError } from '../../errors.js';
import { newCommandId } from '../../engine/canary/session.js';
import { readCanaryStatus, writeCanaryCommand, type CanaryAction, type CanaryStatus } from '../../state/canary.js';
import { inspectLock } from '../../state/lock.js';
import { readLastDeploy } from '../../state/records.js';
import { systemClock } from '../../util/clock.js';
import { openApp } from '../context.js';
import { globals, output } from './common.js';

/** How long promote/abort wait for the deploy to act on the request. */
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
  if (!status) throw new UsageError(`no canary deploy of ${app} is in progress: nothing to ${action}`, { hint: 'see `deployer status`' });
  if (lock.state !== 'held' || lock.owner.deploy_id !== status.deploy_id) {
    throw new DeployFailed(`the canary deploy ${status.deploy_id} of ${app} is no longer running (${lock.state === 'stale' ? lock.reason : 'its lock is gone'})`, {
      hint: 'run `deployer doctor --repair` to undo what it left',
    });
  }
  const id = newCommandId();
  const by = `${userInfo().username}@${hostname()}`;
  await writeCanaryCommand(t, layout, { id, deploy_id: status.deploy_id, action, ...(full ? { full } : {}), by, at: systemClock.now().toISOString() });
  const acked = await waitForAck(t, layout, id, status.deploy_id);
  if (!acked) {
    const last = await readLastDeploy(t, layout);
    const result = last?.deploy_id === status.deploy_id ? last.result : 'ended';
    if (action === 'abort' && result === 'succeeded')
      throw new DeployFailed(`the canary deploy ${status.deploy_id} finished (promoted) before it could be aborted`, { hint: '`deployer rollback` takes it back' });
    if (out.isJson) return out.json({ app, deploy_id: status.deploy_id, action, full, acknowledged: false, note: `the deploy ${result} first`, stage: null });
    return out.line(`the canary deploy ${status.deploy_id} of ${app} ${result === 'ended' ? 'ended' : `ended (${result})`} before acting on ${action}`);
  }
  if (out.isJson) return out.json({ app, deploy_id: status.deploy_id, action, full, acknowledged: acked !== null, note: acked.acked?.note ?? '', stage: acked.stage });
  out.line(`${action === 'abort' ? 'aborted' : 'promoted'} the canary ${status.release} of ${app} (deploy ${status.deploy_id}): ${acked.acked?.note ?? ''}`);
}

/** The canary status once the deploy has acknowledged request `id`; null when the deploy ended first. */
async function waitForAck(t: Parameters<typeof readCanaryStatus>[0], layout: Parameters<typeof readCanaryStatus>[1], id: string, deployId: string): Promise<CanaryStatus | null> {
  const deadline = systemClock.monotonic() + ACK_TIMEOUT_MS;
  for (;;) {
    const s = await readCanaryStatus(t, layout);
    if (s?.acked?.id === id) return s;
    if (!s || s.deploy_id !== deployId) return null;
    if (systemClock.monotonic() > deadline) {
      throw new DeployFailed(`the deploy ${deployId} did not act on the request within ${ACK_TIMEOUT_MS / 1000} s`, {
        hint: 'it is still pending in .deploy_state/canary_command.json and is acted on at the next check; see `deployer status`',
      });
    }
    await systemClock.sleep(50);
  }
}
