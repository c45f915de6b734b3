import { describe, expect, it } from 'vitest';
import { LineSplitter } from './line-splitter.js';

/** Feeds `chunks` and returns every line, the unterminated last one included. */
function split(chunks: (string | Buffer)[], max?: number): string[] {
  const s = new LineSplitter(max);
  const out = chunks.flatMap((c) => s.push(Buffer.isBuffer(c) ? c : Buffer.from(c)));
  const rest = s.flush();
  return rest === undefined ? out : [...out, rest];
}

describe('LineSplitter', () => {
  it('splits on \\n and \\r\\n, across chunks, with an unterminated last line', () => {
    expect(split(['a\nb', 'c\r\n', '\nd'])).toEqual(['a', 'bc', '', 'd']);
    expect(split(['a\r', '\nb\r', '\n'])).toEqual(['a', 'b']);
    expect(split(['x\n'])).toEqual(['x']);
  });

  it('starts a line over at a \\r, as a terminal shows a progress bar', () => {
    expect(split(['10%\r50%\r', '100%\ndone'])).toEqual(['100%', 'done']);
    expect(split(['\r'.repeat(100_000), 'last\n'])).toEqual(['last']);
    // a \r at the end of the output leaves the line as it is
    expect(split(['ok\r'])).toEqual(['ok']);
  });

  it('cuts a long line at the cap and says how much was left out', () => {
    expect(split(['abcdef', 'ghij\nk'], 4)).toEqual(['abcd … [6 more characters cut]', 'k']);
    // a \r after the cut starts over with a clean line
    expect(split(['abcdefgh\rxy\n'], 4)).toEqual(['xy']);
  });

  it('takes linear time on many short lines in large chunks', () => {
    const s = new LineSplitter();
    const chunk = Buffer.from(`${'y'.repeat(80)}\n`.repeat(8000)); // 648 KB, 8,000 lines
    const started = performance.now();
    let n = 0;
    for (let i = 0; i < 60; i++) n += s.push(chunk).length;
    expect(n).toBe(480_000);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('keeps a UTF-8 character split across chunks whole', () => {
    const euro = Buffer.from('€\n');
    expect(split([euro.subarray(0, 1), euro.subarray(1)])).toEqual(['€']);
  });

  it('takes linear time: 50 MB without a newline in 64 KiB chunks', () => {
    const s = new LineSplitter();
    const chunk = Buffer.alloc(65536, 'x');
    const started = performance.now();
    for (let i = 0; i < 800; i++) expect(s.push(chunk)).toEqual([]);
    expect(s.flush()).toBe(`${'x'.repeat(8192)} … [${800 * 65536 - 8192} more characters cut]`);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});
