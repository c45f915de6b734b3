import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { assertReleaseId } from '../../release/id.js';
import { PROTECTED_FILE } from '../../release/list.js';
import { openApp } from '../context.js';
import { globals, output } from './common.js';
import { withLock } from './locked.js';

export function registerProtect(program: Command): void {
  for (const verb of ['protect', 'unprotect'] as const) {
    program
      .command(`${verb} <release>`)
      .description(verb === 'protect' ? 'keep a release through every cleanup' : 'let cleanup remove a release again')
      .action(async (release: string, _opts, cmd: Command) => {
        const o = globals(cmd);
        const out = output(o);
        assertReleaseId(release);
        const { t, layout } = await openApp(o);
        const dir = layout.release(release);
        if ((await t.fs.stat(dir))?.type !== 'dir') throw new UsageError(`release ${release} does not exist`, { hint: 'see `deployer releases`' });
        const marker = join(dir, PROTECTED_FILE);
        await withLock(t, layout, verb, async () => {
          if (verb === 'protect') await t.fs.writeAtomic(marker, `${JSON.stringify({ protected_at: new Date().toISOString(), by: await t.user() })}\n`);
          else await t.fs.remove(marker);
        });
        if (out.isJson) return out.json({ release, protected: verb === 'protect' });
        out.line(`${release} is ${verb === 'protect' ? 'protected' : 'no longer protected'}`);
      });
  }
}
