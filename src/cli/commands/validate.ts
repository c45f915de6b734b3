import type { Command } from 'commander';
import { unsupportedFeatures } from '../../manifest/support.js';
import { formatPath } from '../../manifest/load.js';
import { loadManifest } from '../../manifest/load.js';
import { globals, output, warnAll } from './common.js';

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check the manifest (every environment overlay too) and report each problem with its key path and line')
    .action(async (_opts, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const base = await loadManifest(o.file, o.env !== undefined ? { environment: o.env } : {});
      // without -e, each overlay is checked as well: an error in staging should not wait for a staging deploy
      const envs = o.env !== undefined ? [o.env] : base.environments;
      const loaded = o.env !== undefined ? [base] : [base, ...(await Promise.all(envs.map((environment) => loadManifest(o.file, { environment }))))];
      for (const l of loaded) warnAll(l.warnings, o);
      const unsupported = unsupportedFeatures(base.manifest).map((i) => `${formatPath(i.path)}: ${i.message}`);
      if (out.isJson) {
        out.json({ valid: true, file: base.file, app: base.manifest.name, environments: base.environments, not_supported_yet: unsupported, warnings: loaded.flatMap((l) => l.warnings) });
        return;
      }
      out.line(`${out.style.green('✔')} ${base.file} is valid (app ${base.manifest.name}${envs.length ? `; environments: ${envs.join(', ')}` : ''})`);
      if (unsupported.length) {
        out.line(out.style.yellow('note: `deploy` will refuse these until they are built:'));
        for (const u of unsupported) out.line(`  - ${u}`);
      }
    });
}
