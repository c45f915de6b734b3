import type { Command } from 'commander';
import { readHistory } from '../../state/records.js';
import { openApp } from '../context.js';
import { formatMs } from '../render/style.js';
import { globals, output } from './common.js';

export function registerHistory(program: Command): void {
  program
    .command('history')
    .description('deploys and rollbacks, newest last')
    .option('-n, --limit <n>', 'show the last N entries', '20')
    .action(async (opts: { limit: string }, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const { loaded, t, layout } = await openApp(o);
      const all = await readHistory(t, layout);
      const n = Math.max(0, Number.parseInt(opts.limit, 10) || 0);
      const entries = n ? all.slice(-n) : all;
      if (out.isJson) return out.json({ app: loaded.manifest.name, history: entries });
      if (!entries.length) return out.line('no history yet');
      const s = out.style;
      for (const e of entries) {
        const result = e.result === 'succeeded' ? s.green(e.result) : s.red(e.result);
        const c = e.canary;
        const canary = c ? ` ${s.dim(`canary ${c.outcome} after ${c.stages_done} stage(s), ${c.intervals.length} interval(s)${c.reason ? `: ${c.reason}` : ''}`)}` : '';
        out.line(`${s.dim(e.finished)} ${e.operation.padEnd(8)} ${e.release} ${result.padEnd(12)} ${formatMs(e.duration_ms).padStart(6)} ${e.user}@${e.host}${e.version ? ` v${e.version}` : ''}${e.error ? ` ${s.dim(e.error)}` : ''}${e.note ? ` ${s.dim(`(${e.note})`)}` : ''}${canary}`);
      }
    });
}
