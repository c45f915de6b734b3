import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { findHistoryEntry, readHistory } from '../../state/history.js';
import type { HistoryEntry } from '../../state/records.js';
import { openApp } from '../context.js';
import { intervalLine, verdictMark } from '../render/canary.js';
import { formatMs, type Style } from '../render/style.js';
import { globals, output, type Out } from './common.js';

export function registerHistory(program: Command): void {
  program
    .command('history')
    .argument('[deploy-id]', 'show one deploy in full: a canary with every analysis interval')
    .description('deploys and rollbacks, newest last; with a deploy id, that one in full')
    .option('-n, --limit <n>', 'show the last N entries', '20')
    .action(async (deployId: string | undefined, opts: { limit: string }, cmd: Command) => {
      const o = globals(cmd);
      const out = output(o);
      const { loaded, t, layout } = await openApp(o);
      if (deployId !== undefined) {
        const e = await findHistoryEntry(t, layout, deployId);
        if (!e) throw new UsageError(`no deploy ${deployId} in the history of ${loaded.manifest.name}`, { hint: 'see `deployer history`' });
        if (out.isJson) return out.json({ app: loaded.manifest.name, entry: e });
        return printOne(out, e);
      }
      const n = Math.max(0, Number.parseInt(opts.limit, 10) || 0);
      const entries = await readHistory(t, layout, n);
      if (out.isJson) return out.json({ app: loaded.manifest.name, history: entries });
      if (!entries.length) return out.line('no history yet');
      for (const e of entries) out.line(summaryLine(out.style, e));
    });
}

function summaryLine(s: Style, e: HistoryEntry): string {
  const result = e.result === 'succeeded' ? s.green(e.result) : s.red(e.result);
  const c = e.canary;
  const canary = c ? ` ${s.dim(`canary ${c.outcome} after ${c.stages_done} stage(s), ${c.intervals.length} interval(s)${c.reason ? `: ${c.reason}` : ''}`)}` : '';
  return `${s.dim(e.finished)} ${e.deploy_id} ${e.operation.padEnd(8)} ${e.release} ${result.padEnd(12)} ${formatMs(e.duration_ms).padStart(6)} ${e.user}@${e.host}${e.version ? ` v${e.version}` : ''}${e.error ? ` ${s.dim(e.error)}` : ''}${e.note ? ` ${s.dim(`(${e.note})`)}` : ''}${canary}`;
}

function printOne(out: Out, e: HistoryEntry): void {
  const s = out.style;
  out.line(summaryLine(s, e));
  out.line(`  ${e.strategy}: ${e.previous ?? 'nothing'} -> ${e.release}, started ${e.started}, ${formatMs(e.duration_ms)}`);
  const c = e.canary;
  if (!c) return;
  out.line(`  canary in ${c.pool} against ${c.baseline.pool} (${c.baseline.release ?? 'nothing'}): ${c.outcome === 'promoted' ? s.green(c.outcome) : s.red(c.outcome)} after ${c.stages_done} stage(s)${c.reason ? `: ${c.reason}` : ''}`);
  const counts = { pass: 0, fail: 0, inconclusive: 0 };
  for (const r of c.intervals) counts[r.verdict]++;
  out.line(`  ${c.intervals.length} interval(s): ${verdictMark(s, 'pass')} ${counts.pass}, ${verdictMark(s, 'fail')} ${counts.fail}, ${verdictMark(s, 'inconclusive')} ${counts.inconclusive}`);
  for (const r of c.intervals) out.line(`  ${s.dim(r.at)}${intervalLine(s, r, r)}`);
  for (const a of c.commands ?? []) out.line(`  ${s.dim(a.at)} ${a.action}${a.full ? ' --full' : ''} by ${a.by}: ${a.done ? '' : 'refused: '}${a.note}`);
}
