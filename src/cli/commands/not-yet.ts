import type { Command } from 'commander';
import { UsageError } from '../../errors.js';

/** Verbs of the CLI contract whose feature arrives in a later build: a clear refusal, exit 2. */
export function registerNotYet(program: Command): void {
  for (const verb of ['promote', 'abort'] as const) {
    program
      .command(verb)
      .description(`${verb} the canary in progress (the canary strategy is not supported yet)`)
      .action(() => {
        throw new UsageError(`\`deployer ${verb}\` acts on a canary deploy, and the canary strategy is not supported yet`);
      });
  }
}
