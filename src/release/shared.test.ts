import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { linkShared } from './shared.js';

let root: string;
let release: string;
let shared: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'deployer-shared-'));
  release = join(root, 'releases', '20240101_000000');
  shared = join(root, 'shared');
  mkdirSync(release, { recursive: true });
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function put(base: string, rel: string, text: string): void {
  mkdirSync(dirname(join(base, rel)), { recursive: true });
  writeFileSync(join(base, rel), text);
}

/** The link's target, and where it resolves to. */
function linkOf(rel: string): { target: string; resolved: string } {
  const p = join(release, rel);
  expect(lstatSync(p).isSymbolicLink(), `${rel} is a symlink`).toBe(true);
  const target = readlinkSync(p);
  return { target, resolved: resolve(dirname(p), target) };
}

describe('linkShared', () => {
  it('replaces the release copy by a relative symlink into an existing shared dir or file', async () => {
    put(shared, 'logs/old.log', 'kept');
    put(shared, '.env', 'SECRET=shared');
    put(release, 'logs/from-release.log', 'dropped');
    put(release, '.env', 'SECRET=release');
    const r = await linkShared(release, shared, ['logs'], ['.env']);

    expect(r).toEqual({ linked: ['logs', '.env'], seeded: [], warnings: [] });
    expect(linkOf('logs')).toEqual({ target: '../../shared/logs', resolved: join(shared, 'logs') });
    expect(linkOf('.env')).toEqual({ target: '../../shared/.env', resolved: join(shared, '.env') });
    // shared wins: its content is what the release sees, the release's copy is gone
    expect(readFileSync(join(release, '.env'), 'utf8')).toBe('SECRET=shared');
    expect(readdirSync(join(release, 'logs'))).toEqual(['old.log']);
    expect(existsSync(join(shared, 'logs', 'from-release.log'))).toBe(false);
  });

  it('seeds a missing shared path from the release', async () => {
    put(release, 'uploads/a.png', 'png');
    put(release, 'config/app.ini', 'x=1');
    const r = await linkShared(release, shared, ['uploads'], ['config/app.ini']);

    expect(r).toEqual({ linked: ['uploads', 'config/app.ini'], seeded: ['uploads', 'config/app.ini'], warnings: [] });
    expect(readFileSync(join(shared, 'uploads', 'a.png'), 'utf8')).toBe('png');
    expect(readFileSync(join(shared, 'config', 'app.ini'), 'utf8')).toBe('x=1');
    expect(lstatSync(join(shared, 'uploads')).isDirectory()).toBe(true);
    expect(linkOf('config/app.ini')).toEqual({ target: '../../../shared/config/app.ini', resolved: join(shared, 'config', 'app.ini') });
    expect(readFileSync(join(release, 'uploads', 'a.png'), 'utf8')).toBe('png');
  });

  it('creates a shared dir that exists nowhere, empty', async () => {
    const r = await linkShared(release, shared, ['cache'], []);
    expect(r).toEqual({ linked: ['cache'], seeded: [], warnings: [] });
    expect(readdirSync(join(shared, 'cache'))).toEqual([]);
    expect(linkOf('cache').resolved).toBe(join(shared, 'cache'));
  });

  it('warns about a shared file that exists nowhere and does not link it', async () => {
    const r = await linkShared(release, shared, [], ['.env']);
    expect(r.linked).toEqual([]);
    expect(r.seeded).toEqual([]);
    expect(r.warnings).toEqual([`shared file .env does not exist in ${shared}; not linked`]);
    expect(existsSync(join(release, '.env'))).toBe(false);
    expect(existsSync(join(shared, '.env'))).toBe(false);
  });

  it('links nested paths, creating their parents in the release', async () => {
    put(shared, 'storage/app/public/x.txt', 'x');
    const r = await linkShared(release, shared, ['storage/app/public/'], []);
    expect(r.linked).toEqual(['storage/app/public']);
    expect(linkOf('storage/app/public')).toEqual({ target: '../../../../shared/storage/app/public', resolved: join(shared, 'storage/app/public') });
    expect(lstatSync(join(release, 'storage/app')).isDirectory()).toBe(true);
    expect(readFileSync(join(release, 'storage/app/public/x.txt'), 'utf8')).toBe('x');
  });

  it('does not seed from a release entry of the wrong type', async () => {
    // the release has a file where a shared dir is expected: an empty shared dir replaces it
    put(release, 'logs', 'not a dir');
    const r = await linkShared(release, shared, ['logs'], []);
    expect(r.seeded).toEqual([]);
    expect(readdirSync(join(shared, 'logs'))).toEqual([]);
    expect(linkOf('logs').resolved).toBe(join(shared, 'logs'));
  });

  it('is idempotent: linking twice leaves the same links', async () => {
    put(release, 'data/d.txt', 'd');
    await linkShared(release, shared, ['data'], []);
    const again = await linkShared(release, shared, ['data'], []);
    expect(again).toEqual({ linked: ['data'], seeded: [], warnings: [] });
    expect(linkOf('data').target).toBe('../../shared/data');
    expect(readFileSync(join(shared, 'data', 'd.txt'), 'utf8')).toBe('d');
  });
});
