import type { Command } from 'commander';
import { jsonSchema } from '../../manifest/json-schema.js';
import { manifestReference } from '../../manifest/reference.js';

export function registerSchema(program: Command): void {
  program
    .command('schema')
    .description('print the JSON Schema of deploy.yml (for editors), or with --markdown the manifest reference')
    .option('--markdown', 'print the manifest reference as Markdown')
    .action((opts: { markdown?: boolean }) => {
      process.stdout.write(opts.markdown ? manifestReference() : `${JSON.stringify(jsonSchema(), null, 2)}\n`);
    });
}
