import { describe, expect, it } from 'vitest';
import { CHUNK_BAD, CHUNK_MORE, ChunkedScanner } from './chunked.js';

/** Feeds `text` in pieces of `step` bytes; the offset just past the end in the whole text, CHUNK_MORE or CHUNK_BAD. */
function scanAll(text: string, step = text.length): number {
  const buf = Buffer.from(text, 'latin1');
  const s = new ChunkedScanner();
  for (let i = 0; i < buf.length; i += step) {
    const piece = buf.subarray(i, Math.min(buf.length, i + step));
    const r = s.scan(piece, 0, piece.length);
    if (r === CHUNK_BAD) return CHUNK_BAD;
    if (r >= 0) return i + r;
  }
  return CHUNK_MORE;
}

describe('ChunkedScanner', () => {
  const body = '5\r\nhello\r\n1a;name=value;x\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n';

  it('finds the end of a chunked body, whole or split into single bytes', () => {
    for (const step of [1, 2, 3, 7, body.length]) expect(scanAll(`${body}GET / HTTP/1.1\r\n`, step)).toBe(body.length);
  });

  it('passes trailers and extensions and stops after the final CRLF', () => {
    const t = '3;ext="q"\r\nabc\r\n0;last\r\nX-Sum: 1\r\nX-Other: two\r\n\r\n';
    expect(scanAll(t, 1)).toBe(t.length);
    expect(scanAll(`${t}rest`)).toBe(t.length);
  });

  it('asks for more when the body is not complete', () => {
    expect(scanAll('5\r\nhel')).toBe(CHUNK_MORE);
    expect(scanAll('5\r\nhello\r\n0\r\n')).toBe(CHUNK_MORE);
    expect(scanAll('0\r\nX: 1\r\n')).toBe(CHUNK_MORE);
  });

  it('refuses sizes that are not hex, overflow 2^53, or framing without CRLF', () => {
    expect(scanAll('z\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('-1\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('0x5\r\nhello\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('+5\r\nhello\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('40000000000000\r\n')).toBe(CHUNK_BAD); // 2^54
    expect(scanAll('ffffffffffffffffffff\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('5\nhello\r\n0\r\n\r\n')).toBe(CHUNK_BAD); // bare LF
    expect(scanAll('5\r\nhelloXX0\r\n\r\n')).toBe(CHUNK_BAD); // data longer than its size
    expect(scanAll('5 x\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('0\r\n folded\r\n\r\n')).toBe(CHUNK_BAD);
    // whitespace before an extension is tolerated (BWS)
    const bws = '5 ;a\r\nhello\r\n0\r\n\r\n';
    expect(scanAll(bws, 1)).toBe(bws.length);
    // leading zeros are fine
    const zeros = '0005\r\nhello\r\n000\r\n\r\n';
    expect(scanAll(zeros, 1)).toBe(zeros.length);
  });

  it('refuses what a strict RFC 9112 reading would not frame the same way', () => {
    expect(scanAll('5 \r\nhello\r\n0\r\n\r\n')).toBe(CHUNK_BAD); // whitespace without an extension
    expect(scanAll('00000000000000005\r\nhello\r\n0\r\n\r\n')).toBe(CHUNK_BAD); // 17 digits
    expect(scanAll('0000000000000005\r\nhello\r\n0\r\n\r\n')).toBe('0000000000000005\r\nhello\r\n0\r\n\r\n'.length);
    expect(scanAll('5;a\x0bb\r\nhello\r\n0\r\n\r\n')).toBe(CHUNK_BAD); // a control character in an extension
    expect(scanAll('5;a\nb\r\nhello\r\n0\r\n\r\n')).toBe(CHUNK_BAD);
    for (const name of ['Transfer-Encoding', 'content-length', 'HOST', 'Connection']) expect(scanAll(`0\r\n${name}: x\r\n\r\n`, 1)).toBe(CHUNK_BAD);
    expect(scanAll('0\r\nX-A : 1\r\n\r\n')).toBe(CHUNK_BAD); // whitespace before the colon
    expect(scanAll('0\r\nX-A: \x01\r\n\r\n')).toBe(CHUNK_BAD);
    expect(scanAll('0\r\nno-colon\r\n\r\n')).toBe(CHUNK_BAD);
  });

  it('can be reset and reused for the next message', () => {
    const s = new ChunkedScanner();
    const a = Buffer.from('1\r\na\r\n0\r\n\r\n');
    expect(s.scan(a, 0, a.length)).toBe(a.length);
    expect(s.scan(a, 0, a.length)).toBe(a.length);
  });
});
