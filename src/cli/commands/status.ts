import type { Command } from 'commander';
import type { Transport } from '../../hosts/transport.js';
import type { AppLayout } from '../../release/layout.js';
import { readMeta } from '../../release/meta.js';
import { readCanaryStatus } from '../../state/canary.js';
import { readJournal } from '../../state/journal.js';
import { inspectLock } from '../../state/lock.js';
import { readLastDeploy } from '../../state/records.js';
import { observe } from '../../engine/observe.js';
import { describeJournal } from '../../engine/recovery.js';
import { runsPools } from '../../strategies/pools.js';
import { connectRuntime } from '../../runtime/client.js';
import { deployerHome, openApp } from '../context.js';
import { canaryStatusLines } from '../render/canary.js';
import { printRuntimeApp } from './runtime-view.js';
import { externalLive } from '../../wiring/router.js';
import { systemClock } from '../../util/clock.js';
import { globals, output } from './common.js';

export async function collectStatus(t: Transport, layout: AppLayout) {
  const observed = await observe(t, layout);
  const lock = await inspectLock(t, layout.lock);
  const journal = await readJournal(t, layout.journal);
  const live = observed.current ? await readMeta(t.fs, layout.release(observed.current)) : null;
  const canary = await readCanaryStatus(t, layout);
  return {
    app_root: layout.root,
    current: observed.current,
    version: live?.version ?? null,
    deployed_at: live?.timestamp ?? null,
    deployed_by: live?.deployed_by ?? null,
    git_commit: live?.git_commit ?? null,
    rollback_point: observed.rollbackPoint,
    pre_rollback_release: observed.preRollback,
    releases: observed.releases.filter((r) => !r.failed).length,
    lock: lock.state === 'free' ? null : { state: lock.state, ...(lock.owner ? { owner: lock.owner } : {}), ...(lock.state === 'stale' ? { reason: lock.reason } : {}) },
    // a journal whose deploy still holds the lock is an operation in progress, not an interrupted one
    in_progress: journal && journal !== 'corrupt' && lock.state === 'held' && lock.owner.deploy_id === journal.deploy_id ? `${journal.operation} ${journal.deploy_id} of release ${journal.plan.release}` : null,
    interrupted:
      journal === null || (journal !== 'corrupt' && lock.state === 'held' && lock.owner.deploy_id === journal.deploy_id)
        ? null
        : journal === 'corrupt'
          ? 'journal.json is unreadable'
          : describeJournal(journal),
    last_deploy: await readLastDeploy(t, layout),
    canary: canary && canary.phase !== 'ended' ? { ...canary, running: lock.state === 'held' && lock.owner.deploy_id === canary.deploy_id } : null,
  };
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('live release, rollback point, lock, last deploy; on the runtime: pools, weights, instances and their health')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const { loaded, t, layout } = await openApp(o);
      const st = await collectStatus(t, layout);
      const rt = runsPools(loaded) ? await connectRuntime(deployerHome()) : null;
      const runtime = rt ? await rt.app(loaded.manifest.name) : null;
      // another router in front (nginx, HAProxy): what it serves, read back from it
      const router = await externalLive(loaded, { transport: t, app: loaded.manifest.name, clock: systemClock }).catch((e: Error) => e);
      if (out.isJson) return out.json({ app: loaded.manifest.name, hosts: [{ host: 'local', ...st, ...(runsPools(loaded) ? { runtime } : {}), ...(router === undefined ? {} : { router: router instanceof Error ? { error: router.message } : router }) }] });
      const s = out.style;
      out.line(s.bold(`${loaded.manifest.name} on local (${st.app_root})`));
      out.line(`  live:            ${st.current ? `${st.current}${st.version ? ` (version ${st.version})` : ''}${st.deployed_at ? `, deployed ${st.deployed_at} by ${st.deployed_by}` : ''}` : s.dim('nothing deployed')}`);
      out.line(`  rollback point:  ${st.rollback_point ?? s.dim('none')}`);
      if (st.pre_rollback_release) out.line(`  roll forward to: ${st.pre_rollback_release}`);
      out.line(`  releases:        ${st.releases}`);
      const lock = st.lock;
      out.line(`  lock:            ${!lock ? 'free' : lock.state === 'held' ? s.yellow(`held by ${lock.owner?.command} ${lock.owner?.deploy_id} (pid ${lock.owner?.pid} on ${lock.owner?.host}, since ${lock.owner?.started})`) : s.yellow(`stale: ${lock.reason}`)}`);
      if (st.in_progress) out.line(`  in progress:     ${st.in_progress}`);
      if (st.interrupted) out.line(`  ${s.red('interrupted:')}     ${st.interrupted} (run \`deployer doctor --repair\`)`);
      if (st.canary) for (const l of canaryStatusLines(s, st.canary, st.canary.running)) out.line(l);
      const last = st.last_deploy;
      if (runsPools(loaded)) {
        if (runtime) printRuntimeApp(out, runtime);
        else out.line(`  runtime:         ${s.dim(rt ? 'the app has no instances' : 'the runtime daemon is not running')}`);
      }
      if (router instanceof Error) out.line(`  router:          ${s.red(router.message)}`);
      else if (router === null) out.line(`  router:          ${s.dim(`${loaded.manifest.router.type} has nothing for the app`)}`);
      else if (router) {
        out.line(`  router:          ${router.where}`);
        for (const p of router.pools) out.line(`    pool ${p.name}: weight ${p.weight > 0 ? s.green(String(p.weight)) : p.weight}, ${p.targets.map((x) => `${x.id} ${x.state}${x.health ? `/${x.health}` : ''}`).join(', ') || 'no targets'}`);
      }
      if (last) out.line(`  last operation:  ${last.operation} ${last.release} ${last.result === 'succeeded' ? s.green(last.result) : s.red(last.result)} at ${last.finished}${last.error ? `: ${last.error}` : ''}`);
    });
}
