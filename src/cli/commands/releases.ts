import type { Command } from 'commander';
import { pinnedReleases } from '../../engine/handlers/cleanup.js';
import { listReleases } from '../../release/list.js';
import { openApp } from '../context.js';
import { globals, output } from './common.js';

export function registerReleases(program: Command): void {
  program
    .command('releases')
    .description('list releases, oldest first, marking the live one, the rollback point and protected ones')
    .action(async (_o, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const { loaded, t, layout } = await openApp(o);
      const releases = await listReleases(t, layout);
      const pinned = await pinnedReleases(t, layout);
      const rows = releases.map((r) => ({
        id: r.failed ? `${r.id}.failed` : r.id,
        version: r.meta?.version ?? null,
        created: r.meta?.timestamp ?? null,
        source: r.meta?.source ?? null,
        git_commit: r.meta?.git_commit ?? null,
        current: !r.failed && pinned.get(r.id) === 'live',
        rollback_point: !r.failed && pinned.get(r.id) === 'rollback point',
        protected: r.protected,
        failed: r.failed,
        complete: r.complete,
      }));
      if (out.isJson) return out.json({ app: loaded.manifest.name, releases: rows });
      if (!rows.length) return out.line('no releases yet');
      const s = out.style;
      for (const r of rows) {
        const marks = [r.current && s.green('live'), r.rollback_point && 'rollback point', r.protected && 'protected', r.failed && s.red('failed'), !r.complete && s.yellow('incomplete')].filter(Boolean);
        out.line(`${r.current ? s.green('*') : ' '} ${r.id.padEnd(24)} ${(r.version ?? '').padEnd(14)} ${s.dim(r.created ?? '')}${marks.length ? `  [${marks.join(', ')}]` : ''}`);
      }
    });
}
