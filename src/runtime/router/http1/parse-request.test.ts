import { describe, expect, it } from 'vitest';
import { upstreamHead } from './upstream-head.js';
import { newRequestHead, parseRequestHead, type RequestHead } from './parse-request.js';

function parse(text: string): { status: number; h: RequestHead } {
  const buf = Buffer.from(text, 'latin1');
  const end = buf.indexOf('\r\n\r\n');
  if (end === -1) throw new Error('no head end');
  const h = newRequestHead();
  return { status: parseRequestHead(buf, end, h), h };
}

const ok = (text: string): RequestHead => {
  const r = parse(text);
  expect(r.h.error).toBe('');
  expect(r.status).toBe(0);
  return r.h;
};

describe('parseRequestHead', () => {
  it('parses the request line and the headers routing and framing need', () => {
    const h = ok('POST /a?b=1 HTTP/1.1\r\nHost: shop.test:8080\r\nContent-Length: 12\r\nCookie: a=1\r\ncookie: b=2\r\nAccept: */*\r\n\r\n');
    expect(h).toMatchObject({ method: 'POST', target: '/a?b=1', http10: false, host: 'shop.test:8080', contentLength: 12, chunked: false, close: false, upgrade: null, cookie: 'a=1; b=2' });
    expect(h.fwd).toBe('Host: shop.test:8080\r\nContent-Length: 12\r\nCookie: a=1\r\ncookie: b=2\r\nAccept: */*\r\n');
  });

  it('drops hop-by-hop headers, keeps the rest and Host, and adds X-Forwarded-*', () => {
    const h = ok('GET / HTTP/1.1\r\nHost: app.test:8080\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: x\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nAccept: */*\r\nExpect: 100-continue\r\n\r\n');
    expect(h.upgrade).toBeNull();
    expect(upstreamHead(h, '10.0.0.9', false)).toBe(
      'GET / HTTP/1.1\r\nHost: app.test:8080\r\nAccept: */*\r\nExpect: 100-continue\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: app.test:8080\r\nX-Real-IP: 10.0.0.9\r\nConnection: keep-alive\r\n\r\n',
    );
  });

  it('replaces the forwarding headers of a client, and appends to or keeps those of a trusted proxy', () => {
    const h = ok('GET / HTTP/1.1\r\nHost: h\r\nx-forwarded-for: 1.2.3.4\r\nForwarded: for=1.2.3.4\r\nX-Forwarded-For: 5.6.7.8\r\nX-Forwarded-Proto: https\r\nX-Real-IP: 1.2.3.4\r\nX-Real-IP: 9.9.9.9\r\nX-Forwarded-Host: evil\r\nX: 1\r\n\r\n');
    expect(h.fwd).toBe('Host: h\r\nX: 1\r\n');
    expect(upstreamHead(h, '127.0.0.1', false)).toBe('GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nX-Real-IP: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');
    expect(upstreamHead(h, '127.0.0.1', true)).toBe(
      'GET / HTTP/1.1\r\nHost: h\r\nX: 1\r\nForwarded: for=1.2.3.4\r\nX-Forwarded-For: 1.2.3.4, 5.6.7.8, 127.0.0.1\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nX-Real-IP: 1.2.3.4\r\nConnection: keep-alive\r\n\r\n',
    );
    const plain = ok('GET / HTTP/1.1\r\nHost: h\r\n\r\n');
    expect(upstreamHead(plain, '10.0.0.1', true)).toBe(upstreamHead(plain, '10.0.0.1', false));
  });

  it('drops the headers the Connection header names, and notes close', () => {
    const h = ok('GET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-Secret\r\nX-Secret: s\r\nX-Kept: k\r\n\r\n');
    expect(h.fwd).toBe('Host: h\r\nX-Kept: k\r\n');
    expect(h.close).toBe(true);
  });

  it('tells whether the request has a body', () => {
    expect(ok('GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n').contentLength).toBe(0);
    expect(ok('GET / HTTP/1.1\r\nHost: h\r\n\r\n')).toMatchObject({ contentLength: -1, chunked: false });
    expect(ok('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n')).toMatchObject({ contentLength: -1, chunked: true });
  });

  it('keeps Upgrade for an upgrade request and says Connection: upgrade upstream', () => {
    const h = ok('GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: k\r\n\r\n');
    expect(h.upgrade).toBe('websocket');
    expect(upstreamHead(h, 'ip', false)).toContain('Sec-WebSocket-Key: k\r\nX-Forwarded-For: ip\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\nX-Real-IP: ip\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n');
  });

  it('HTTP/1.0: closes after the response, Host optional, asks the target as HTTP/1.0', () => {
    const h = ok('GET / HTTP/1.0\r\n\r\n');
    expect(h).toMatchObject({ http10: true, close: true, host: null });
    expect(upstreamHead(h, 'ip', false)).toBe('GET / HTTP/1.0\r\nX-Forwarded-For: ip\r\nX-Forwarded-Proto: http\r\nX-Real-IP: ip\r\nConnection: close\r\n\r\n');
  });

  it('accepts chunked (any case) as the only coding, and equal Content-Length lists', () => {
    expect(ok('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n').chunked).toBe(true);
    expect(ok('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n').contentLength).toBe(5);
    expect(ok('GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n').fwd).toBe('Host: h\r\nX-Empty:\r\nX-Tab:\tv\t\r\n');
  });

  it('forwards one Content-Length or Transfer-Encoding line with its value alone, where the first one was', () => {
    expect(ok('POST / HTTP/1.1\r\nContent-Length: 5, 5\r\nHost: h\r\ncontent-length:5\t\r\n\r\n').fwd).toBe('Content-Length: 5\r\nHost: h\r\n');
    expect(ok('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: \tCHUNKED \r\nX: 1\r\n\r\n').fwd).toBe('Host: h\r\nTransfer-Encoding: chunked\r\nX: 1\r\n');
  });

  it('keeps the headers the Connection header names for the app to check', () => {
    expect(ok('GET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-Variant\r\n\r\n').named).toEqual(new Set(['x-variant']));
    expect(ok('GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n').named).toBeNull();
  });

  it.each([
    ['both Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['Transfer-Encoding then Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n', 400],
    ['chunked not final', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', 400],
    ['another coding', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n', 400],
    ['a coding before chunked', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', 501],
    ['chunked twice', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', 501],
    ['a look-alike coding', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n', 400],
    ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['differing Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n', 400],
    ['differing Content-Length list', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4, 5\r\n\r\n', 400],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +4\r\n\r\n', 400],
    ['a hex Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x4\r\n\r\n', 400],
    ['an empty Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n', 400],
    ['a huge Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\n', 400],
    ['whitespace before the colon', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n', 400],
    ['obs-fold', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  continued\r\n\r\n', 400],
    ['a line without a colon', 'GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n', 400],
    ['an empty header name', 'GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n', 400],
    ['a bare LF', 'GET / HTTP/1.1\r\nHost: h\nX-A: 1\r\n\r\n', 400],
    ['a bare CR', 'GET / HTTP/1.1\r\nHost: h\rX-A: 1\r\n\r\n', 400],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: h\r\nX-A: a\0b\r\n\r\n', 400],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
    ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n', 400],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\nHost: h\r\n\r\n', 400],
    ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: h\r\n\r\n', 400],
    ['lower-case version', 'GET / http/1.1\r\nHost: h\r\n\r\n', 400],
    ['no version', 'GET /\r\nHost: h\r\n\r\n', 400],
    ['two spaces', 'GET  / HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['a bad method', 'G(T / HTTP/1.1\r\nHost: h\r\n\r\n', 400],
    ['Connection naming Content-Length', 'POST / HTTP/1.1\r\nHost: h\r\nConnection: content-length\r\nContent-Length: 3\r\n\r\n', 400],
    ['Connection naming Transfer-Encoding', 'POST / HTTP/1.1\r\nHost: h\r\nConnection: close,\tTransfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n', 400],
    ['Connection naming Host', 'GET / HTTP/1.1\r\nHost: h\r\nConnection: HOST\r\n\r\n', 400],
    ['Connection naming Cookie', 'GET / HTTP/1.1\r\nHost: h\r\nConnection: cookie\r\nCookie: a=1\r\n\r\n', 400],
    ['a Content-Length ending in 0xa0', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\xa0\r\n\r\n', 400],
    ['a Content-Length list element ending in 0xa0', 'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\xa0, 4\r\n\r\n', 400],
    ['chunked ending in 0xa0', 'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\xa0\r\n\r\n', 400],
    ['trailing garbage after the version', 'GET / HTTP/1.1x\r\nHost: h\r\n\r\n', 400],
  ])('refuses %s', (_name, text, status) => {
    expect(parse(text).status).toBe(status);
  });
});
