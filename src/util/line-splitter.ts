import { StringDecoder } from 'node:string_decoder';

/** Longest line passed on whole; the rest of a longer one is counted, not kept. */
export const MAX_LINE_CHARS = 8192;

/**
 * Splits a stream of output into lines in time linear in its size and memory bounded by `max`,
 * whatever a program prints (a `\r` progress bar, binary, 100 MB without a newline):
 * - `\n` (or `\r\n`) ends a line;
 * - a `\r` inside a line starts it over, as on a terminal: a progress bar yields its last state;
 * - a line longer than `max` keeps its first `max` characters and a marker saying how many more
 *   were cut.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private line = '';
  private cut = 0;
  /** a `\r` ended the last chunk: a reset, unless the next chunk starts with `\n` */
  private pendingCr = false;

  constructor(private readonly max = MAX_LINE_CHARS) {}

  push(chunk: Buffer): string[] {
    return this.feed(this.decoder.write(chunk));
  }

  /** The unterminated last line, if any. */
  flush(): string | undefined {
    const rest = this.decoder.end();
    if (rest) this.feed(rest);
    // a `\r` at the very end leaves the line as it is
    this.pendingCr = false;
    return this.line === '' && this.cut === 0 ? undefined : this.take();
  }

  private feed(text: string): string[] {
    const out: string[] = [];
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      this.append(text, start, nl === -1 ? text.length : nl, nl !== -1);
      if (nl === -1) return out;
      out.push(this.take());
      start = nl + 1;
    }
  }

  private append(text: string, start: number, end: number, endsLine: boolean): void {
    if (this.pendingCr) {
      this.pendingCr = false;
      if (!(endsLine && start === end)) this.reset();
    }
    if (end > start && text.charCodeAt(end - 1) === 13) {
      end--;
      if (!endsLine) this.pendingCr = true;
    }
    if (end > start) {
      const cr = text.lastIndexOf('\r', end - 1);
      if (cr >= start) {
        this.reset();
        start = cr + 1;
      }
    }
    const room = Math.max(0, Math.min(this.max - this.line.length, end - start));
    if (room > 0) this.line += text.slice(start, start + room);
    this.cut += end - start - room;
  }

  private take(): string {
    const l = this.cut ? `${this.line} … [${this.cut} more characters cut]` : this.line;
    this.reset();
    return l;
  }

  private reset(): void {
    this.line = '';
    this.cut = 0;
  }
}
