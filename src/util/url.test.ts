import { describe, expect, it } from 'vitest';
import { displayUrl, displayUrlsIn, withoutCredentials } from './url.js';

describe('displayUrl', () => {
  it.each([
    // userinfo, query string and fragment go; scheme, host (with port) and path stay
    ['https://user:pa%40ss@example.com/r/app.tar.gz?x=1', 'https://example.com/r/app.tar.gz'],
    ['https://token@example.com/app.zip', 'https://example.com/app.zip'],
    ['https://example.com/app.zip', 'https://example.com/app.zip'],
    ['http://127.0.0.1:3000/health?token=abc#frag', 'http://127.0.0.1:3000/health'],
    ['https://bucket.s3.example/app.tgz?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA', 'https://bucket.s3.example/app.tgz'],
    ['http://user:pw@127.0.0.1:9090/', 'http://127.0.0.1:9090'],
    ['http://[::1]:8080/x?y', 'http://[::1]:8080/x'],
    // git: ssh, scp-like and file addresses
    ['ssh://git@git.example:2222/org/repo.git', 'ssh://git.example:2222/org/repo.git'],
    ['git@github.com:org/repo.git', 'github.com:org/repo.git'],
    ['github.com:org/repo.git', 'github.com:org/repo.git'],
    ['file:///srv/git/repo.git', 'file:///srv/git/repo.git'],
    ['/srv/git/repo.git', '/srv/git/repo.git'],
    // a request path (the router's health probe)
    ['/health?token=abc#x', '/health'],
    ['./app', './app'],
    // not parseable (a template, a space): the same rules, by text
    ['http://127.0.0.1:{port}/health?token=abc', 'http://127.0.0.1:{port}/health'],
    ['http://user:pw@exa mple.com/x', 'http://exa mple.com/x'],
    ['http://us@er:p@ss@exa mple.com/x#y', 'http://exa mple.com/x'],
  ])('%s -> %s', (input, expected) => {
    expect(displayUrl(input)).toBe(expected);
  });
});

describe('displayUrlsIn', () => {
  it('shows every URL in a message that way, and leaves the rest', () => {
    expect(displayUrlsIn('Request cannot be constructed from a URL that includes credentials: http://u:pw@127.0.0.1:9/api/v1/query?query=up')).toBe(
      'Request cannot be constructed from a URL that includes credentials: http://127.0.0.1:9/api/v1/query',
    );
    expect(displayUrlsIn('GET "https://t@h.example/a?b=c", then ftp://x/y.')).toBe('GET "https://h.example/a", then ftp://x/y.');
    expect(displayUrlsIn('no url here: 127.0.0.1:80')).toBe('no url here: 127.0.0.1:80');
  });
});

describe('withoutCredentials', () => {
  it('takes user and password out of the URL and gives them back decoded', () => {
    expect(withoutCredentials('https://us%40er:pa%3Ass@example.com/r.git?x=1')).toEqual({ url: 'https://example.com/r.git?x=1', user: 'us@er', password: 'pa:ss' });
    expect(withoutCredentials('https://token@example.com/r.git')).toEqual({ url: 'https://example.com/r.git', user: 'token', password: '' });
    expect(withoutCredentials('https://example.com/r.git')).toEqual({ url: 'https://example.com/r.git' });
    expect(withoutCredentials('git@github.com:org/repo.git')).toEqual({ url: 'git@github.com:org/repo.git' });
  });
});
