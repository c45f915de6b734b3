import type { Redactor } from '../state/redact.js';

// Everything this CLI prints leaves through process.stdout.write and process.stderr.write: the
// progress lines, --json, warnings, the fleet's relayed host output and the one error catch with
// its --verbose stack. Once a manifest is loaded, both hide its secrets there, whatever printed
// them, rather than each call site remembering to.

const redactors: Redactor[] = [];

/** Bytes as text when they are UTF-8 text; null for anything else (never rewritten). */
function utf8(bytes: Uint8Array): string | null {
  const s = Buffer.from(bytes).toString('utf8');
  return Buffer.byteLength(s) === bytes.length && !s.includes('\uFFFD') ? s : null;
}

/** Hides the secrets of `r` (a manifest this process loaded) in all that is printed from now on. */
export function guardOutput(r: Redactor): void {
  if (redactors.length === 0) {
    for (const stream of [process.stdout, process.stderr]) {
      const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        const text = typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? utf8(chunk) : null;
        return write(text === null ? chunk : redactors.reduce((t, x) => x.redact(t), text), ...rest);
      }) as typeof stream.write;
    }
  }
  redactors.push(r);
}
