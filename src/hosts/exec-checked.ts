import { CommandFailed } from '../errors.js';
import { describeExit, type RunOptions } from '../util/process.js';
import type { Transport } from './transport.js';

/**
 * Runs argv on a host and throws CommandFailed unless it exits 0; the message says what ran
 * (`what`), how it ended, and the last lines it printed.
 */
export async function execChecked(t: Transport, argv: readonly string[], what: string, opts: RunOptions = {}): Promise<void> {
  const tail: string[] = [];
  const r = await t.exec(argv, {
    ...opts,
    onLine: (line, stream) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      opts.onLine?.(line, stream);
    },
  });
  if (r.code === 0 && !r.timedOut && !r.spawnError) return;
  const out = tail.filter((l) => l.trim()).slice(-10);
  throw new CommandFailed(`${what} ${describeExit(r, opts.timeoutMs)}${out.length ? `\n${out.map((l) => `    | ${l}`).join('\n')}` : ''}`);
}
