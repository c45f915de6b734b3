import type { RunEvent } from '../../engine/events.js';
import type { FleetReport } from '../../fleet/drive.js';
import { intervalLine } from './canary.js';
import { formatMs, makeStyle } from './style.js';

/**
 * A fleet's progress as plain lines on stderr, each prefixed with its host: step ends, undos,
 * warnings and canary intervals (every attempt and hook line with --verbose). Many hosts
 * interleave, so no live redrawing.
 */
export class FleetRenderer {
  private readonly s = makeStyle(process.stderr);
  private width = 4;

  constructor(
    hosts: string[],
    private readonly verbose: boolean,
  ) {
    this.width = Math.max(4, ...hosts.map((h) => h.length));
  }

  private line(host: string | null, text: string): void {
    process.stderr.write(`${this.s.dim((host ?? 'fleet').padEnd(this.width))}  ${text}\n`);
  }

  handle = (host: string | null, e: RunEvent): void => {
    const s = this.s;
    switch (e.type) {
      case 'step_end': {
        if (e.status === 'skipped' && !this.verbose) return;
        const mark = e.status === 'failed' ? s.red('✖') : e.status === 'warned' ? s.yellow('!') : e.status === 'skipped' ? s.dim('-') : s.green('✔');
        const phase = e.phase === 'main' ? '' : `${e.phase}: `;
        this.line(host, `${mark} ${phase}${e.title}${e.error ? `: ${e.error}` : e.detail && this.verbose ? s.dim(` (${e.detail})`) : ''} ${s.dim(formatMs(e.durationMs))}`);
        return;
      }
      case 'undo_end':
        this.line(host, `${e.ok ? s.yellow('↩') : s.red('✖')} undo ${e.title}${e.error ? `: ${e.error}` : ''}`);
        return;
      case 'log':
        if (e.level === 'warn') this.line(host, `${s.yellow('warning:')} ${e.message}`);
        else if (e.level === 'error') this.line(host, `${s.red('error:')} ${e.message}`);
        else if (e.level === 'info' && (host === null || !e.source || this.verbose)) this.line(host, e.message);
        else if (this.verbose) this.line(host, s.dim(`${e.source ? `[${e.source}] ` : ''}${e.message}`));
        return;
      case 'analysis':
        this.line(host, intervalLine(s, e.result, e));
        return;
      case 'check_attempt':
        if (this.verbose) this.line(host, s.dim(`${e.check}: attempt ${e.attempt} ${e.ok ? 'ok' : e.detail}`));
        return;
      default:
        return;
    }
  };

  /** One line a host at the end, then the verdict. */
  summary(r: FleetReport, ms: number): void {
    const s = this.s;
    for (const h of r.hosts) {
      const mark = h.result === 'succeeded' ? s.green('✔') : h.result === 'not_changed' ? s.dim('-') : h.result === 'rolled_back' ? s.yellow('↩') : s.red('✖');
      this.line(h.host, `${mark} ${h.result.replace('_', ' ')}${h.release ? `; live: ${h.release}` : ''}${h.error && h.result !== 'succeeded' ? s.dim(` (${h.error})`) : ''}`);
    }
    if (r.exitCode === 0) {
      const verb = r.operation === 'deploy' ? 'deployed' : 'rolled back to';
      this.line(null, `${s.green('✔')} ${verb} ${r.app} release ${r.release} on ${r.hosts.length} host${r.hosts.length === 1 ? '' : 's'} in ${formatMs(ms)}`);
    }
  }
}
