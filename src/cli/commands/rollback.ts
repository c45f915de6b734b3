import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { assertReleaseId } from '../../release/id.js';
import { planRollback } from '../../strategies/rollback.js';
import { operate } from './operate.js';

export function registerRollback(program: Command): void {
  program
    .command('rollback')
    .description('go back to the rollback point (the release live before the last deploy), or to --to RELEASE')
    .option('--to <release>', 'release id to go back to')
    .option('--forward', 'return to the release that was live before the last rollback')
    .option('--dry-run', 'print the plan and change nothing')
    .action(async (opts: { to?: string; forward?: boolean; dryRun?: boolean }, cmd: Command) => {
      if (opts.to !== undefined) assertReleaseId(opts.to, '--to');
      if (opts.to !== undefined && opts.forward) throw new UsageError('give either --to or --forward, not both');
      await operate(cmd, {
        command: 'rollback',
        strategy: () => 'rollback',
        plan: (loaded, observed, ids) => planRollback(loaded, observed, { deployId: ids.deployId, ...(opts.to ? { to: opts.to } : {}), ...(opts.forward ? { forward: true } : {}) }),
        ...(opts.dryRun ? { dryRun: true } : {}),
        fleetOp: { command: 'rollback', ...(opts.to ? { to: opts.to } : {}), ...(opts.forward ? { forward: true } : {}) },
      });
    });
}
