import { CommandFailed } from '../errors.js';
import { describeExit, type RunOptions } from '../util/process.js';
import type { Transport } from './transport.js';

/** Output of one command passed on to `onLine` (the deploy log); past it only its last lines are. */
export const LOG_BUDGET_BYTES = 4 * 1024 * 1024;
/** Lines kept from the end of the output: for the error message, and after a cut log. */
const TAIL_LINES = 10;

/**
 * Runs argv on a host and throws CommandFailed unless it exits 0; the message says what ran
 * (`what`), how it ended, and the last lines it printed. `onLine` gets the first
 * LOG_BUDGET_BYTES of output, then a line saying how much was left out, then the last lines.
 */
export async function execChecked(t: Transport, argv: readonly string[], what: string, opts: RunOptions = {}): Promise<void> {
  const tail: { line: string; stream: 'stdout' | 'stderr' }[] = [];
  let logged = 0;
  let unlogged = 0;
  let unloggedBytes = 0;
  const r = await t.exec(argv, {
    ...opts,
    onLine: (line, stream) => {
      tail.push({ line, stream });
      if (tail.length > 2 * TAIL_LINES) tail.shift();
      if (logged < LOG_BUDGET_BYTES) {
        logged += line.length + 1;
        opts.onLine?.(line, stream);
      } else {
        unlogged++;
        unloggedBytes += line.length + 1;
      }
    },
  });
  if (unlogged > 0 && opts.onLine) {
    const last = tail.slice(-Math.min(TAIL_LINES, unlogged));
    const left = unlogged - last.length;
    const leftBytes = unloggedBytes - last.reduce((n, l) => n + l.line.length + 1, 0);
    opts.onLine(`… ${left} lines (${leftBytes} bytes) not logged: past ${LOG_BUDGET_BYTES / 1024 / 1024} MiB of output; the last ${last.length} lines:`, 'stderr');
    for (const l of last) opts.onLine(l.line, l.stream);
  }
  if (r.code === 0 && !r.timedOut && !r.spawnError) return;
  const out = tail.map((l) => l.line).filter((l) => l.trim()).slice(-TAIL_LINES);
  throw new CommandFailed(`${what} ${describeExit(r, opts.timeoutMs)}${out.length ? `\n${out.map((l) => `    | ${l}`).join('\n')}` : ''}`);
}
