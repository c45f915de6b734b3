import type { Command } from 'commander';
import type { GlobalOptions } from '../context.js';
import { ProgressRenderer } from '../render/progress.js';
import { makeStyle, type Style } from '../render/style.js';

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** Human output: stdout normally, stderr when --json owns stdout. */
export interface Out {
  line(text?: string): void;
  json(value: unknown): void;
  style: Style;
  isJson: boolean;
}

export function output(o: GlobalOptions): Out {
  const stream = o.json ? process.stderr : process.stdout;
  return {
    line: (text = '') => void stream.write(`${text}\n`),
    json: (value) => void process.stdout.write(`${JSON.stringify(value)}\n`),
    style: makeStyle(stream),
    isJson: Boolean(o.json),
  };
}

/** Progress renderer on stderr: live on a terminal, plain lines in CI and pipes. */
export function progress(o: GlobalOptions): ProgressRenderer {
  const live = Boolean(process.stderr.isTTY) && !process.env.CI;
  return new ProgressRenderer({ stream: process.stderr, live, verbose: Boolean(o.verbose) });
}

export function warnAll(warnings: { path: string; message: string; line?: number }[]): void {
  const s = makeStyle(process.stderr);
  for (const w of warnings) process.stderr.write(`${s.yellow('warning:')} ${w.line ? `line ${w.line}: ` : ''}${w.path}: ${w.message}\n`);
}
