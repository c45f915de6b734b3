import type { Command } from 'commander';
import { ManifestError, type ManifestIssue } from '../../errors.js';
import { formatPath, loadManifest, type LoadedManifest } from '../../manifest/load.js';
import { unsupportedFeatures } from '../../manifest/support.js';
import { guarded, refuseUnfetchable } from '../context.js';
import { globals, output, warnAll } from './common.js';

const UNSET = /^environment variable \w+ is not set/;

export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check the manifest (every environment overlay too) and report each problem with its key path and line')
    .action(async (_opts, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const base = guarded(await loadManifest(o.file, o.env !== undefined ? { environment: o.env } : {}));
      // without -e, each overlay is checked as well: an error in staging should not wait for a
      // staging deploy. A variable only that environment uses may be unset here: a note, not an error.
      const envs = o.env !== undefined ? [o.env] : base.environments;
      const loaded: LoadedManifest[] = [base];
      const unsetElsewhere: ManifestIssue[] = [];
      if (o.env === undefined) {
        for (const environment of envs) {
          try {
            loaded.push(guarded(await loadManifest(o.file, { environment })));
          } catch (e) {
            if (!(e instanceof ManifestError) || !e.issues.every((i) => UNSET.test(i.message))) throw e;
            unsetElsewhere.push(...e.issues);
          }
        }
      }
      for (const l of loaded) refuseUnfetchable(l);
      for (const l of loaded) warnAll(l.warnings);
      const unsupported = unsupportedFeatures(base.manifest).map((i) => `${formatPath(i.path)}: ${i.message}`);
      const notes = unsetElsewhere.map((i) => `${i.path}: ${i.message} (needed to deploy that environment; its other keys were not checked)`);
      if (out.isJson) {
        out.json({ valid: true, file: base.file, app: base.manifest.name, environments: base.environments, not_supported_yet: unsupported, unset_in_environments: notes, warnings: loaded.flatMap((l) => l.warnings) });
        return;
      }
      out.line(`${out.style.green('✔')} ${base.file} is valid (app ${base.manifest.name}${envs.length ? `; environments: ${envs.join(', ')}` : ''})`);
      for (const n of notes) out.line(`${out.style.yellow('note:')} ${n}`);
      if (unsupported.length) {
        out.line(out.style.yellow('note: `deploy` will refuse these until they are built:'));
        for (const u of unsupported) out.line(`  - ${u}`);
      }
    });
}
