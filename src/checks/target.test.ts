import { describe, expect, it } from 'vitest';
import { parseHostPort, parseProcessTarget, parseTarget } from './target.js';

describe('parseTarget', () => {
  it('detects the check type from the scheme', () => {
    expect(parseTarget('http://127.0.0.1:3000/health')).toEqual({ type: 'http', url: 'http://127.0.0.1:3000/health', expectedStatus: [200] });
    expect(parseTarget('https://example.com/')).toMatchObject({ type: 'http', url: 'https://example.com/' });
    expect(parseTarget('tcp://127.0.0.1:5432')).toEqual({ type: 'tcp', host: '127.0.0.1', port: 5432 });
    expect(parseTarget('tcp://[::1]:6379')).toEqual({ type: 'tcp', host: '::1', port: 6379 });
    expect(parseTarget('pid://1234')).toEqual({ type: 'process', pid: 1234 });
    expect(parseTarget('pid://name:nginx')).toEqual({ type: 'process', name: 'nginx' });
    expect(parseTarget('pid://nginx')).toEqual({ type: 'process', name: 'nginx' });
    expect(parseTarget('cmd://test -f /tmp/ready && echo "a://b"')).toEqual({ type: 'command', command: 'test -f /tmp/ready && echo "a://b"' });
  });

  it('gives null for a target without a known scheme', () => {
    expect(parseTarget('127.0.0.1:3000')).toBeNull();
    expect(parseTarget('/health')).toBeNull();
    expect(parseTarget('ftp://host/')).toBeNull();
    expect(parseTarget('')).toBeNull();
  });

  it('throws a clear error for a known scheme with a bad rest', () => {
    expect(() => parseTarget('tcp://db')).toThrow('"db" has no port: write host:port');
    expect(() => parseTarget('pid://')).toThrow(/no process name or pid/);
    expect(() => parseTarget('cmd://  ')).toThrow(/empty command/);
    expect(() => parseTarget('http://')).toThrow(/invalid URL/);
  });
});

describe('parseProcessTarget', () => {
  it('accepts the forms of the manifest', () => {
    expect(parseProcessTarget('name:nginx')).toEqual({ type: 'process', name: 'nginx' });
    expect(parseProcessTarget('42')).toEqual({ type: 'process', pid: 42 });
    expect(() => parseProcessTarget('0')).toThrow(/invalid pid/);
    expect(() => parseProcessTarget('name:')).toThrow(/no process name/);
  });
});

describe('parseHostPort', () => {
  it('splits host and port', () => {
    expect(parseHostPort('127.0.0.1:80')).toEqual({ host: '127.0.0.1', port: 80 });
    expect(parseHostPort('db.internal:65535')).toEqual({ host: 'db.internal', port: 65535 });
    expect(parseHostPort('[::1]:1')).toEqual({ host: '::1', port: 1 });
  });

  it.each([
    ['localhost', /no port/],
    [':80', /no host/],
    ['[]:80', /no host/],
    ['::1:80', /IPv6 address in brackets/],
    ['host:0', /port must be a number from 1 to 65535/],
    ['host:65536', /port must be a number from 1 to 65535/],
    ['host:http', /port must be a number/],
    ['host:', /port must be a number/],
    ['host:-1', /port must be a number/],
    ['ho st:80', /invalid host/],
  ])('rejects %j', (input, message) => {
    expect(() => parseHostPort(input)).toThrow(message);
  });
});
