import { Option, type Command } from 'commander';
import type { Manifest } from '../../manifest/schema/index.js';
import { planDeploy } from '../../strategies/index.js';
import { operate } from './operate.js';

const STRATEGIES = ['recreate', 'rolling', 'blue-green', 'canary'] as const;

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('prepare a new release and make it live with the manifest\'s strategy')
    .addOption(new Option('--strategy <name>', 'override deployment.strategy').choices(STRATEGIES))
    .option('--version <version>', 'version to record for this release (default: manifest, git describe, package.json)')
    .option('--dry-run', 'print the plan a real run would execute, and change nothing')
    .option('--yes', 'do not ask for confirmation (deploy never asks today; accepted for scripts)')
    .action(async (opts: { strategy?: Manifest['deployment']['strategy']; version?: string; dryRun?: boolean }, cmd: Command) => {
      await operate(cmd, {
        command: 'deploy',
        strategy: (l) => opts.strategy ?? l.manifest.deployment.strategy,
        plan: (loaded, observed, ids) => planDeploy(opts.strategy ?? loaded.manifest.deployment.strategy, loaded, observed, ids),
        ...(opts.version ? { versionOverride: opts.version } : {}),
        fleetOp: { command: 'deploy', strategy: opts.strategy ?? 'recreate', ...(opts.version ? { versionOverride: opts.version } : {}) },
        ...(opts.dryRun ? { dryRun: true } : {}),
      });
    });
}
