import { describe, expect, it } from 'vitest';
import { excludeMatcher } from './exclude.js';

describe('excludeMatcher', () => {
  it('excludes nothing without patterns', () => {
    const m = excludeMatcher([]);
    expect(m('anything', false)).toBe(false);
    expect(m('.git', true)).toBe(false);
  });

  it('matches a name without a slash at any depth', () => {
    const m = excludeMatcher(['node_modules']);
    expect(m('node_modules', true)).toBe(true);
    expect(m('a/b/node_modules', true)).toBe(true);
    expect(m('node_modules', false)).toBe(true);
    expect(m('node_modules2', true)).toBe(false);
    expect(m('my_node_modules', true)).toBe(false);
    // a path below it is not matched by itself: the walk never descends into an excluded dir
    expect(m('node_modules/x.js', false)).toBe(false);
  });

  it('matches a leading-slash pattern only at the top', () => {
    const m = excludeMatcher(['/tmp']);
    expect(m('tmp', true)).toBe(true);
    expect(m('src/tmp', true)).toBe(false);
  });

  it('matches a glob without a slash against the name', () => {
    const m = excludeMatcher(['*.log']);
    expect(m('x.log', false)).toBe(true);
    expect(m('deep/dir/x.log', false)).toBe(true);
    expect(m('x.log.gz', false)).toBe(false);
    expect(m('log', false)).toBe(false);
  });

  it('matches a pattern with a slash inside against the path from the top', () => {
    const m = excludeMatcher(['docs/**', 'a/b', 'logs/*.log']);
    expect(m('docs/a', false)).toBe(true);
    expect(m('docs/a/b', false)).toBe(true);
    expect(m('x/docs/a', false)).toBe(false);
    expect(m('a/b', false)).toBe(true);
    expect(m('x/a/b', false)).toBe(false);
    expect(m('a/bc', false)).toBe(false);
    expect(m('logs/a.log', false)).toBe(true);
    expect(m('logs/sub/a.log', false)).toBe(false);
    expect(m('x/logs/a.log', false)).toBe(false);
  });

  it('matches a trailing-slash pattern only for directories', () => {
    const m = excludeMatcher(['cache/', '/build/']);
    expect(m('cache', true)).toBe(true);
    expect(m('x/cache', true)).toBe(true);
    expect(m('cache', false)).toBe(false);
    expect(m('build', true)).toBe(true);
    expect(m('build', false)).toBe(false);
    expect(m('src/build', true)).toBe(false);
  });

  it('matches dotfiles with wildcards', () => {
    const m = excludeMatcher(['.*']);
    expect(m('.git', true)).toBe(true);
    expect(m('sub/.env', false)).toBe(true);
    expect(m('env', false)).toBe(false);
  });

  it('excludes when any of several patterns matches', () => {
    const m = excludeMatcher(['.git', 'node_modules', '*.tmp']);
    expect(['.git', 'a/node_modules', 'b/c.tmp', 'src/index.js'].map((p) => m(p, p !== 'b/c.tmp' && p !== 'src/index.js'))).toEqual([true, true, true, false]);
  });
});
