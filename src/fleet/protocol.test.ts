import { describe, expect, it } from 'vitest';
import { lineReader } from './protocol.js';

function reader() {
  const messages: unknown[] = [];
  const texts: string[] = [];
  const feed = lineReader(
    (m) => messages.push(m),
    (t) => texts.push(t),
  );
  return { feed, messages, texts };
}

describe('lineReader', () => {
  it('a message split across chunks is handed on once its line ends', () => {
    const r = reader();
    r.feed('{"type":"ga');
    r.feed('te","gate":"swi');
    expect(r.messages).toEqual([]);
    r.feed('tch","index":3}');
    expect(r.messages).toEqual([]);
    r.feed('\n');
    expect(r.messages).toEqual([{ type: 'gate', gate: 'switch', index: 3 }]);
    expect(r.texts).toEqual([]);
  });

  it('several messages in one chunk, in order, and the rest of a line kept for the next chunk', () => {
    const r = reader();
    r.feed('{"type":"go"}\n{"type":"stop","reason":"x"}\n{"type":"int');
    expect(r.messages).toEqual([{ type: 'go' }, { type: 'stop', reason: 'x' }]);
    r.feed('errupt","reason":"y"}\n');
    expect(r.messages).toEqual([{ type: 'go' }, { type: 'stop', reason: 'x' }, { type: 'interrupt', reason: 'y' }]);
  });

  it('Buffers', () => {
    const r = reader();
    r.feed(Buffer.from('{"m":"déjà'));
    r.feed(Buffer.from(' vu"}\n'));
    expect(r.messages).toEqual([{ m: 'déjà vu' }]);
  });

  // a UTF-8 character that a pipe read splits in two is put back together
  it('a multi-byte character split between two Buffers arrives whole', () => {
    const r = reader();
    const bytes = Buffer.from('{"m":"déjà vu"}\n');
    const cut = bytes.indexOf(0xc3) + 1; // between the two bytes of é
    r.feed(bytes.subarray(0, cut));
    r.feed(bytes.subarray(cut));
    expect(r.messages).toEqual([{ m: 'déjà vu' }]);
  });

  it('a line that is not JSON goes to onText, without its newline', () => {
    const r = reader();
    r.feed('Warning: Permanently added h1 to the list of known hosts.\n{"type":"go"}\nnot { json\n');
    expect(r.texts).toEqual(['Warning: Permanently added h1 to the list of known hosts.', 'not { json']);
    expect(r.messages).toEqual([{ type: 'go' }]);
  });

  it('blank and whitespace-only lines are ignored', () => {
    const r = reader();
    r.feed('\n\n   \n\t\n{"a":1}\n\n');
    expect(r.messages).toEqual([{ a: 1 }]);
    expect(r.texts).toEqual([]);
  });

  it('JSON values that are not objects are handed on as they are (the caller checks the shape)', () => {
    const r = reader();
    r.feed('42\n"text"\nnull\n[1]\n');
    expect(r.messages).toEqual([42, 'text', null, [1]]);
  });

  it('a line with no newline yet is not handed on', () => {
    const r = reader();
    r.feed('{"type":"done"}');
    expect(r.messages).toEqual([]);
    expect(r.texts).toEqual([]);
  });

  it('without onText, text lines are dropped', () => {
    const messages: unknown[] = [];
    const feed = lineReader((m) => messages.push(m));
    feed('oops\n{"b":2}\n');
    expect(messages).toEqual([{ b: 2 }]);
  });
});
