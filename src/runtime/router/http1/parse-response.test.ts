import { describe, expect, it } from 'vitest';
import { Body, newResponseHead, parseResponseHead, rewriteHead, rewriteHeadWithBody } from './parse-response.js';

function parse(text: string, head = false) {
  const buf = Buffer.from(text, 'latin1');
  const end = buf.indexOf('\r\n\r\n');
  const r = newResponseHead();
  const ok = parseResponseHead(buf, 0, end, head, r);
  return {
    ok,
    r,
    rewritten: (extra = ''): string => {
      const text = rewriteHead(buf, 0, r, extra);
      // the byte-copying variant agrees (with the body that follows the head)
      expect(rewriteHeadWithBody(buf, 0, r, extra, end + 4, buf.length).toString('latin1')).toBe(text + buf.toString('latin1', end + 4));
      return text;
    },
  };
}

describe('parseResponseHead', () => {
  it('reads status and Content-Length, and strips Connection and Keep-Alive when rewriting', () => {
    const p = parse('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 12\r\n\r\nhello world\n');
    expect(p.ok).toBe(true);
    expect(p.r).toMatchObject({ status: 200, body: Body.Length, length: 12, close: false });
    expect(p.rewritten('Set-Cookie: p=blue\r\n')).toBe('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nSet-Cookie: p=blue\r\n\r\n');
  });

  it("reads the target's Keep-Alive timeout (any case, with other parameters), -1 without one", () => {
    const ka = (v: string | null): number => parse(`HTTP/1.1 200 OK\r\n${v === null ? '' : `Keep-Alive: ${v}\r\n`}Content-Length: 0\r\n\r\n`).r.keepAliveS;
    expect([ka('timeout=5'), ka('max=100, Timeout=1'), ka('TIMEOUT=30,max=5'), ka('max=3'), ka('timeout=x'), ka(null)]).toEqual([5, 1, 30, -1, -1, -1]);
  });

  it('drops hop-by-hop response headers in any case and keeps duplicates', () => {
    const p = parse('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nCONNECTION: keep-alive\r\nkeep-alive: timeout=5\r\nProxy-Connection: x\r\nUpgrade: h2c\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n');
    expect(p.rewritten()).toBe('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n');
  });

  it('forwards a head without hop-by-hop headers as it is', () => {
    const p = parse('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    expect(p.r.drops).toEqual([]);
    expect(p.rewritten()).toBe('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    expect(parse('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n').rewritten()).toBe('HTTP/1.1 204 No Content\r\n\r\n');
  });

  it('knows the framing: chunked, close-delimited, none for HEAD, 1xx, 204 and 304', () => {
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n').r).toMatchObject({ body: Body.Chunked, close: false });
    expect(parse('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n').r).toMatchObject({ body: Body.Close, close: true });
    expect(parse('HTTP/1.1 200 OK\r\n\r\n').r).toMatchObject({ body: Body.Close, close: true });
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n', true).r.body).toBe(Body.None);
    expect(parse('HTTP/1.1 100 Continue\r\n\r\n').r).toMatchObject({ status: 100, body: Body.None });
    expect(parse('HTTP/1.1 204 No Content\r\n\r\n').r.body).toBe(Body.None);
    expect(parse('HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n').r.body).toBe(Body.None);
  });

  it('knows when the target will close', () => {
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n').r.close).toBe(true);
    expect(parse('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n').r.close).toBe(true);
    expect(parse('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n').r.close).toBe(false);
  });

  it('refuses what is not a valid HTTP/1.x head', () => {
    expect(parse('HTTP/2 200 OK\r\nX: y\r\n\r\n').ok).toBe(false);
    expect(parse('HTTP/1.1 2000 OK\r\n\r\n').ok).toBe(false);
    expect(parse('HTTP/1.1 099 Nope\r\n\r\n').ok).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n').ok).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n').ok).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n').ok).toBe(false);
    expect(parse('HTTP/1.1 200 OK\r\nno colon\r\n\r\n').ok).toBe(false);
  });
});
