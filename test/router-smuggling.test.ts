// The router's request framing against the published request-smuggling techniques: raw bytes to
// the built router process, in front of a target that records exactly the bytes it received and
// frames them with a strict RFC 9112 reading of its own. Each request either is refused (a 400 or
// 501, then the connection closes, and nothing of it reaches the target as a request) or reaches
// the target as exactly one well-framed request, with nothing left over.
import { connect } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort, waitFor } from './support/net.js';
import { raw } from './support/raw-http.js';
import { recordingBackend, type RecordingBackend } from './support/recording-backend.js';
import { appSpec, RouterProcess } from './support/router-process.js';

let router: RouterProcess;
let target: RecordingBackend;
let port: number;

beforeAll(async () => {
  router = new RouterProcess();
  await router.start();
  target = await recordingBackend();
  port = await freePort();
  const app = appSpec(port, target.port, { stickyCookie: 'deployer_shop', routes: [{ header: 'x-variant', value: 'b', pool: 'blue' }] });
  expect(await router.ctl('PUT', '/apps/shop', app)).toMatchObject({ status: 200 });
});

afterAll(async () => {
  await router?.stop();
  await target?.close();
});

beforeEach(() => target.reset());

const HOST = 'Host: shop.test\r\n';
const SMUGGLED = `GET /smuggled HTTP/1.1\r\n${HOST}\r\n`;
/** a POST with these header lines (each ending in CRLF) and body */
const post = (fields: string, body: string): string => `POST /submit HTTP/1.1\r\n${HOST}${fields}\r\n${body}`;
const te = (value: string, body = '5\r\nhello\r\n0\r\n\r\n'): string => post(`Transfer-Encoding: ${value}\r\n`, body);
const cl = (value: string, body = 'hello'): string => post(`Content-Length: ${value}\r\n`, body);
const chunked = (body: string): string => post('Transfer-Encoding: chunked\r\n', body);

type Want = { refuse: 400 | 501 } | { body: string };
const refuse = { refuse: 400 } as const;
const notImplemented = { refuse: 501 } as const;
const hello = { body: 'hello' };

const cases: [name: string, request: string, want: Want][] = [
  // the classics
  ['CL.TE: Content-Length and Transfer-Encoding', post('Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${SMUGGLED}`), refuse],
  ['TE.CL: Transfer-Encoding and Content-Length', post('Transfer-Encoding: chunked\r\nContent-Length: 4\r\n', `5c\r\n${SMUGGLED}\r\n0\r\n\r\n`), refuse],
  ['TE.TE: chunked, then an unknown coding', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n', '0\r\n\r\n'), refuse],
  ['TE.TE: chunked twice', post('Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), notImplemented],
  ['CL.0: a GET whose body is a request', `GET / HTTP/1.1\r\n${HOST}Content-Length: ${SMUGGLED.length}\r\n\r\n${SMUGGLED}`, { body: SMUGGLED }],
  ['Transfer-Encoding in HTTP/1.0', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, refuse],
  // Transfer-Encoding obfuscations
  ['Transfer-Encoding: xchunked', te('xchunked'), refuse],
  ['Transfer-Encoding: "chunked"', te('"chunked"'), refuse],
  ['Transfer-Encoding: chunked;x=1', te('chunked;x=1'), refuse],
  ['Transfer-Encoding: chunked, identity', te('chunked, identity'), refuse],
  ['Transfer-Encoding: identity, chunked', te('identity, chunked'), notImplemented],
  ['Transfer-Encoding: chunked, (an empty element last)', te('chunked,'), refuse],
  ['Transfer-Encoding: CHUNKED (any case)', te('CHUNKED'), hello],
  ['Transfer-Encoding with spaces and tabs around chunked', te(' \tchunked \t'), hello],
  ['Transfer-Encoding: 0x0b before chunked', te('\x0bchunked'), refuse],
  ['Transfer-Encoding: 0x0c after chunked', te('chunked\x0c'), refuse],
  ['Transfer-Encoding: 0xa0 after chunked', te('chunked\xa0'), refuse],
  ['Transfer-Encoding: 0xa0 before chunked', te('\xa0chunked'), refuse],
  ['a space before the colon', post('Transfer-Encoding : chunked\r\n', '0\r\n\r\n'), refuse],
  ['a tab before the colon', post('Transfer-Encoding\t: chunked\r\n', '0\r\n\r\n'), refuse],
  ['Transfer-Encoding folded onto a continuation line', post('Transfer-Encoding:\r\n chunked\r\n', '0\r\n\r\n'), refuse],
  ['a continuation line after another header', post('X-A: 1\r\n Transfer-Encoding: chunked\r\n', '0\r\n\r\n'), refuse],
  ['Transfer-Encoding in a trailer', chunked('5\r\nhello\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n'), refuse],
  ['Content-Length in a trailer', chunked('5\r\nhello\r\n0\r\nContent-Length: 5\r\n\r\n'), refuse],
  ['an ordinary trailer', chunked('5\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\n'), hello],
  // chunk sizes
  ['a chunk size 0x5', chunked('0x5\r\nhello\r\n0\r\n\r\n'), refuse],
  ['a chunk size +5', chunked('+5\r\nhello\r\n0\r\n\r\n'), refuse],
  ['a chunk size -5', chunked('-5\r\nhello\r\n0\r\n\r\n'), refuse],
  ['a chunk size after a space', chunked(' 5\r\nhello\r\n0\r\n\r\n'), refuse],
  ['a chunk size with a space after it', chunked('5 \r\nhello\r\n0\r\n\r\n'), refuse],
  ['a chunk size that overflows', chunked('10000000000000005\r\nhello\r\n0\r\n\r\n'), refuse],
  ['a chunk size of 17 digits', chunked('00000000000000005\r\nhello\r\n0\r\n\r\n'), refuse],
  ['a chunk size of 16 digits', chunked('0000000000000005\r\nhello\r\n0\r\n\r\n'), hello],
  ['a chunk size in upper case hex', chunked('A\r\nhellohello\r\n0\r\n\r\n'), { body: 'hellohello' }],
  // chunk extensions
  ['chunk extensions', chunked('5;a=b;c="d;e"\r\nhello\r\n0 ; f\r\n\r\n'), hello],
  ['a bare LF in a chunk extension', chunked(`5;a\nb\r\nhello\r\n0\r\n\r\n`), refuse],
  ['a control character in a chunk extension', chunked('5;a\x0bb\r\nhello\r\n0\r\n\r\n'), refuse],
  ['chunk extensions of more than 64 KiB', chunked(`5;${'a'.repeat(70_000)}\r\nhello\r\n0\r\n\r\n`), refuse],
  // chunks that are not what they say
  ['chunk data longer than its size', chunked(`3\r\nhello\r\n0\r\n\r\n${SMUGGLED}`), refuse],
  ['a next line that is not a chunk', chunked(`5\r\nhello\r\n${SMUGGLED}`), refuse],
  // line endings and bytes
  ['a bare LF after a chunk size', chunked('5\nhello\r\n0\r\n\r\n'), refuse],
  ['a bare LF after chunk data', chunked('5\r\nhello\n0\r\n\r\n'), refuse],
  ['a bare CR after chunk data', chunked('5\r\nhello\r0\r\n\r\n'), refuse],
  ['a bare LF in the head', `POST / HTTP/1.1\r\n${HOST}Content-Length: 5\nX-A: 1\r\n\r\nhello`, refuse],
  ['a bare CR in the head', `POST / HTTP/1.1\r\n${HOST}Content-Length: 5\rX-A: 1\r\n\r\nhello`, refuse],
  ['a head with bare LF line ends only', `GET / HTTP/1.1\n${HOST.trim()}\n\n`, refuse],
  ['a NUL in a header value', `GET / HTTP/1.1\r\n${HOST}X-A: a\0b\r\n\r\n`, refuse],
  ['a NUL in the request target', `GET /\0 HTTP/1.1\r\n${HOST}\r\n`, refuse],
  // Host
  ['two Host headers', `GET / HTTP/1.1\r\n${HOST}Host: other.test\r\n\r\n`, refuse],
  ['an absolute-form target naming another host', `GET http://other.test/ HTTP/1.1\r\n${HOST}\r\n`, refuse],
  ['HTTP/1.1 without Host', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', refuse],
  // Content-Length values
  ['Content-Length: 5 then 0xa0', cl('5\xa0'), refuse],
  ['Content-Length: 5 then a tab', cl('5\t'), hello],
  ['Content-Length without a space', post('Content-Length:5\r\n', 'hello'), hello],
  ['Content-Length with a leading zero', cl('05'), hello],
  ['Content-Length: 5, 5', cl('5, 5'), hello],
  ['two equal Content-Length lines', post('Content-Length: 5\r\nContent-Length: 5\r\n', 'hello'), hello],
  ['Content-Length: 5, 6', cl('5, 6', `hello${SMUGGLED}`), refuse],
  ['two different Content-Length lines', post('Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!'), refuse],
  ['Content-Length: +5', cl('+5'), refuse],
  ['Content-Length: 5 5', cl('5 5'), refuse],
  ['Content-Length: 0x5', cl('0x5'), refuse],
  ['Content-Length: 0x0b then 5', cl('\x0b5'), refuse],
  // headers the Connection header names
  ['Connection naming Content-Length', post('Connection: content-length\r\nContent-Length: 30\r\n', `${SMUGGLED.slice(0, 30)}`), refuse],
  ['Connection naming Transfer-Encoding', post('Connection: close, Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n', '0\r\n\r\n'), refuse],
  ['Connection naming Host', `GET / HTTP/1.1\r\n${HOST}Connection: host\r\n\r\n`, refuse],
  ['Connection naming Cookie (sticky and cookie routes)', `GET / HTTP/1.1\r\n${HOST}Cookie: deployer_shop=blue\r\nConnection: Cookie\r\n\r\n`, refuse],
  ['Connection naming a header the app routes by', `GET / HTTP/1.1\r\n${HOST}X-Variant: b\r\nConnection: x-variant\r\n\r\n`, refuse],
  ['Connection naming another header (dropped)', post('Connection: x-other\r\nX-Other: 1\r\nContent-Length: 5\r\n', 'hello'), hello],
];

/** how many response heads the text holds */
const responses = (text: string): number => text.match(/^HTTP\/1\.1 \d{3} /gm)?.length ?? 0;

describe('router: request smuggling', () => {
  it.each(cases)('%s', async (_name, request, want) => {
    const r = await raw(port, [Buffer.from(request, 'latin1')], { end: true, timeoutMs: 10_000 });
    expect(r.closed).toBe(true);
    if ('refuse' in want) {
      expect(r.text).toMatch(new RegExp(`^HTTP/1\\.1 ${want.refuse} .*\\r\\nconnection: close\\r\\n`, 's'));
      expect(responses(r.text)).toBe(1);
      expect(target.requests).toEqual([]);
      for (const c of target.conns) expect(c.buf.toString('latin1')).not.toContain('/smuggled');
    } else {
      expect(r.text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
      expect(responses(r.text)).toBe(1);
      expect(r.text.endsWith(`\r\n\r\nok:${want.body.length}`)).toBe(true);
      expect(target.errors).toEqual([]);
      expect(target.requests.map((q) => q.body.toString('latin1'))).toEqual([want.body]);
      expect(target.leftover()).toBe(0);
    }
  });

  it('answers 400 to a line that is not a chunk after the head went to the target, and closes that connection', async () => {
    const sock = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let text = '';
    sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
    let ended = false;
    sock.on('end', () => (ended = true));
    try {
      sock.write(chunked('5\r\nhello\r\n'));
      const conn = await waitFor(() => target.conns.find((c) => c.buf.includes('hello')), 'the head and the first chunk at the target');
      sock.write(`${SMUGGLED}0\r\n\r\n`);
      await waitFor(() => (ended ? true : undefined), 'the router to end the connection');
      expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n.*connection: close\r\n/s);
      await waitFor(() => (conn.closed ? true : undefined), 'the target connection to close');
      expect(target.requests).toEqual([]);
      expect(conn.buf.toString('latin1')).not.toContain('/smuggled');
    } finally {
      sock.destroy();
    }
  });
});
