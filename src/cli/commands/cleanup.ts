import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { pinnedReleases } from '../../engine/handlers/cleanup.js';
import { listReleases, planCleanup } from '../../release/list.js';
import { openApp } from '../context.js';
import { globals, output } from './common.js';
import { withLock } from './locked.js';

export function registerCleanup(program: Command): void {
  program
    .command('cleanup')
    .description('remove old releases beyond keep_releases (never the live one, the rollback point or protected ones)')
    .option('--keep <n>', 'releases to keep (default: deployment.keep_releases)')
    .option('--dry-run', 'show what would be removed')
    .action(async (opts: { keep?: string; dryRun?: boolean }, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const { loaded, t, layout } = await openApp(o);
      const keep = opts.keep === undefined ? loaded.manifest.deployment.keep_releases : Number(opts.keep);
      if (!Number.isInteger(keep) || keep < 1 || keep > 1000) throw new UsageError(`--keep must be a whole number from 1 to 1000, got "${opts.keep}"`);
      const run = async () => {
        const plan = planCleanup(await listReleases(t, layout), keep, await pinnedReleases(t, layout));
        if (!opts.dryRun) for (const r of plan.remove) await t.fs.remove(r.dir);
        return plan;
      };
      const plan = opts.dryRun ? await run() : await withLock(t, layout, 'cleanup', run, (m) => process.stderr.write(`warning: ${m}\n`));
      const removed = plan.remove.map((r) => (r.failed ? `${r.id}.failed` : r.id));
      if (out.isJson) return out.json({ app: loaded.manifest.name, dry_run: Boolean(opts.dryRun), removed, kept: plan.keep.map((k) => ({ release: k.release.id, why: k.why })) });
      if (!removed.length) return out.line('nothing to remove');
      out.line(`${opts.dryRun ? 'would remove' : 'removed'}: ${removed.join(', ')}`);
    });
}
