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
    // the next \r at or after `start` (-1: none): it only moves forward, so scanning stays linear
    let cr = text.indexOf('\r');
    for (;;) {
      const nl = text.indexOf('\n', start);
      const end = nl === -1 ? text.length : nl;
      // the last two \r in [start, end): the last may be the one of a \r\n
      let last = -1;
      let before = -1;
      while (cr !== -1 && cr < end) {
        before = last;
        last = cr;
        cr = text.indexOf('\r', cr + 1);
      }
      this.append(text, start, end, nl !== -1, last, before);
      if (nl === -1) return out;
      out.push(this.take());
      start = nl + 1;
    }
  }

  private append(text: string, start: number, end: number, endsLine: boolean, lastCr: number, crBefore: number): void {
    if (this.pendingCr) {
      this.pendingCr = false;
      if (!(endsLine && start === end)) this.reset();
    }
    if (end > start && lastCr === end - 1) {
      // a \r right before the \n (or at the end of the chunk, perhaps before one) does not start the line over
      end--;
      lastCr = crBefore;
      if (!endsLine) this.pendingCr = true;
    }
    if (lastCr >= start) {
      this.reset();
      start = lastCr + 1;
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
