import type { Command } from 'commander';
import { LockHeldError } from '../../errors.js';
import { inspectLock } from '../../state/lock.js';
import { openApp } from '../context.js';
import { globals, output } from './common.js';

export function registerUnlock(program: Command): void {
  program
    .command('unlock')
    .description('remove a stale deploy lock (its process is gone); --force removes a live one too')
    .option('--force', 'remove the lock even if its owner looks alive')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const { t, layout } = await openApp(o);
      const st = await inspectLock(t, layout.lock);
      if (st.state === 'free') {
        if (out.isJson) return out.json({ unlocked: false, reason: 'not locked' });
        return out.line('not locked');
      }
      if (st.state === 'held' && !opts.force) throw new LockHeldError(layout.lock, st.owner);
      await t.fs.remove(layout.lock);
      const who = st.owner ? `${st.owner.command ?? 'deploy'} ${st.owner.deploy_id} (pid ${st.owner.pid} on ${st.owner.host})` : 'unknown owner';
      if (out.isJson) return out.json({ unlocked: true, was: st.state, owner: st.owner ?? null });
      out.line(`removed the ${st.state === 'held' ? 'live (forced)' : 'stale'} lock of ${who}`);
      if (st.state === 'held') process.stderr.write('warning: that process may still be running; check it before deploying\n');
      out.line('if that operation was interrupted, run `deployer doctor` to see what it left');
    });
}
