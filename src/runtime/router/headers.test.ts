import { describe, expect, it } from 'vitest';
import { forwardHeaders, isHopByHop, responseHeaders, type RequestScan } from './headers.js';

const scan = (): RequestScan => ({ host: null, cookie: null, hasBody: false });

describe('forwardHeaders', () => {
  it('drops hop-by-hop headers, keeps the rest and Host, and adds X-Forwarded-*', () => {
    const s = scan();
    const out = forwardHeaders(
      ['Host', 'app.test:8080', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'TE', 'trailers', 'Trailer', 'x', 'Proxy-Connection', 'x', 'Upgrade', 'h2c', 'Accept', '*/*', 'Expect', '100-continue'],
      '10.0.0.9',
      s,
    );
    expect(out).toEqual(['Host', 'app.test:8080', 'Accept', '*/*', 'x-forwarded-for', '10.0.0.9', 'x-forwarded-proto', 'http', 'x-forwarded-host', 'app.test:8080']);
    expect(s).toEqual({ host: 'app.test:8080', cookie: null, hasBody: false });
  });

  it('appends the client to an existing X-Forwarded-For and replaces -Proto and -Host', () => {
    const out = forwardHeaders(['x-forwarded-for', '1.2.3.4', 'X-Forwarded-For', '5.6.7.8', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil'], '127.0.0.1', scan());
    expect(out).toEqual(['x-forwarded-for', '1.2.3.4, 5.6.7.8, 127.0.0.1', 'x-forwarded-proto', 'http']);
  });

  it('drops the headers the Connection header names', () => {
    const out = forwardHeaders(['Connection', 'close, X-Secret', 'X-Secret', 's', 'X-Kept', 'k'], '::1', scan());
    expect(out).toEqual(['X-Kept', 'k', 'x-forwarded-for', '::1', 'x-forwarded-proto', 'http']);
  });

  it('tells whether the request has a body and collects cookies', () => {
    const a = scan();
    forwardHeaders(['Content-Length', '0', 'Cookie', 'a=1', 'cookie', 'b=2'], 'ip', a);
    expect(a.hasBody).toBe(false);
    expect(a.cookie).toBe('a=1; b=2');
    const b = scan();
    forwardHeaders(['Content-Length', '12'], 'ip', b);
    expect(b.hasBody).toBe(true);
    const c = scan();
    const out = forwardHeaders(['Transfer-Encoding', 'chunked'], 'ip', c);
    expect(c.hasBody).toBe(true);
    expect(out).not.toContain('Transfer-Encoding');
  });

  it('keeps Connection and Upgrade for an upgrade request', () => {
    const out = forwardHeaders(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k'], 'ip', scan(), true);
    expect(out.slice(0, 6)).toEqual(['Connection', 'Upgrade', 'Upgrade', 'websocket', 'Sec-WebSocket-Key', 'k']);
  });
});

describe('responseHeaders', () => {
  it('drops hop-by-hop response headers and keeps duplicates', () => {
    const raw = ['Content-Type', 'text/plain', 'Transfer-Encoding', 'chunked', 'Connection', 'keep-alive', 'Keep-Alive', 'timeout=5', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2'].map((s) => Buffer.from(s, 'latin1'));
    expect(responseHeaders(raw)).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  });

  it('knows the hop-by-hop names in any case', () => {
    for (const h of ['Connection', 'KEEP-ALIVE', 'proxy-connection', 'TE', 'trailer', 'Transfer-Encoding', 'upgrade']) expect(isHopByHop(h)).toBe(true);
    expect(isHopByHop('content-length')).toBe(false);
  });
});
