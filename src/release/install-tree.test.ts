import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { excludeMatcher } from './exclude.js';
import { installTree, sameContent } from './install-tree.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deployer-install-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const T1 = new Date('2020-01-02T03:04:05Z');
const T2 = new Date('2021-06-07T08:09:10Z');

/** Writes a file (creating its directory) with a mode and an mtime. */
function put(root: string, rel: string, text: string, mode = 0o644, mtime = T1): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, text);
  chmodSync(p, mode);
  utimesSync(p, mtime, mtime);
}

const ino = (p: string) => statSync(p).ino;

/** A small app tree: nested dirs, an executable, symlinks (one dangling), an empty dir. */
function makeApp(root: string): void {
  put(root, 'index.js', 'console.log(1)\n');
  put(root, 'bin/run', '#!/bin/sh\nexec node index.js\n', 0o755);
  put(root, 'config/secret.conf', 'k=v\n', 0o600);
  put(root, 'a/b/c/deep.txt', 'deep\n');
  mkdirSync(join(root, 'empty'));
  symlinkSync('index.js', join(root, 'main.js'));
  symlinkSync('../missing', join(root, 'a/dangling'));
}

describe('installTree: directory modes', () => {
  it('keeps them, and fills a read-only directory before making it read-only', async () => {
    const src = join(dir, 'src');
    put(src, 'private/key', 'k\n', 0o600);
    put(src, 'ro/file', 'r\n');
    chmodSync(join(src, 'private'), 0o700);
    chmodSync(join(src, 'ro'), 0o555);
    const dest = join(dir, 'dest');
    await installTree(src, dest);
    expect(statSync(join(dest, 'private')).mode & 0o7777).toBe(0o700);
    expect(statSync(join(dest, 'ro')).mode & 0o7777).toBe(0o555);
    expect(readFileSync(join(dest, 'ro/file'), 'utf8')).toBe('r\n');
    chmodSync(join(src, 'ro'), 0o755);
    chmodSync(join(dest, 'ro'), 0o755);
  });

  it('refuses to start when its signal is already aborted', async () => {
    const src = join(dir, 'src');
    put(src, 'a', 'a');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(installTree(src, join(dir, 'dest'), { signal: ac.signal })).rejects.toThrow('stop');
    expect(existsSync(join(dir, 'dest'))).toBe(false);
  });
});

describe('installTree: a fresh copy', () => {
  it('copies nested dirs, files with their modes and mtimes, and symlinks as links', async () => {
    const src = join(dir, 'src');
    const dest = join(dir, 'dest');
    makeApp(src);
    const stats = await installTree(src, dest);

    expect(readFileSync(join(dest, 'index.js'), 'utf8')).toBe('console.log(1)\n');
    expect(readFileSync(join(dest, 'a/b/c/deep.txt'), 'utf8')).toBe('deep\n');
    expect(statSync(join(dest, 'bin/run')).mode & 0o7777).toBe(0o755);
    expect(statSync(join(dest, 'config/secret.conf')).mode & 0o7777).toBe(0o600);
    expect(statSync(join(dest, 'index.js')).mode & 0o7777).toBe(0o644);
    expect(Math.floor(statSync(join(dest, 'a/b/c/deep.txt')).mtimeMs)).toBe(T1.getTime());
    expect(Math.floor(statSync(join(dest, 'bin/run')).mtimeMs)).toBe(T1.getTime());
    expect(lstatSync(join(dest, 'main.js')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dest, 'main.js'))).toBe('index.js');
    expect(readlinkSync(join(dest, 'a/dangling'))).toBe('../missing');
    expect(statSync(join(dest, 'empty')).isDirectory()).toBe(true);
    // a copy, not a link to the source
    expect(ino(join(dest, 'index.js'))).not.toBe(ino(join(src, 'index.js')));
    expect(existsSync(join(src, 'index.js'))).toBe(true);

    const bytes = ['console.log(1)\n', '#!/bin/sh\nexec node index.js\n', 'k=v\n', 'deep\n'].reduce((n, s) => n + s.length, 0);
    expect(stats).toEqual({
      files: 4,
      dirs: 6, // bin, config, a, a/b, a/b/c, empty
      symlinks: 2,
      copiedFiles: 4,
      copiedBytes: bytes,
      linkedFiles: 0,
      linkedBytes: 0,
      skipped: 0,
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('leaves out excluded paths and does not count them', async () => {
    const src = join(dir, 'src');
    const dest = join(dir, 'dest');
    put(src, 'app.js', 'x');
    put(src, 'node_modules/dep/index.js', 'dep');
    put(src, 'lib/node_modules/dep2/index.js', 'dep2');
    put(src, 'debug.log', 'log');
    put(src, 'lib/trace.log', 'log');
    put(src, 'tmp/scratch', 's');
    put(src, 'lib/tmp/kept', 'k');
    const stats = await installTree(src, dest, { exclude: excludeMatcher(['node_modules', '*.log', '/tmp']) });
    expect(existsSync(join(dest, 'app.js'))).toBe(true);
    expect(existsSync(join(dest, 'lib/tmp/kept'))).toBe(true);
    for (const gone of ['node_modules', 'lib/node_modules', 'debug.log', 'lib/trace.log', 'tmp']) expect(existsSync(join(dest, gone)), gone).toBe(false);
    expect(stats).toMatchObject({ files: 2, dirs: 2, copiedFiles: 2, copiedBytes: 2, skipped: 0 });
  });

  it('skips what is not a file, directory or symlink, with a warning', async () => {
    const src = join(dir, 'src');
    put(src, 'ok.txt', 'ok');
    execFileSync('mkfifo', [join(src, 'pipe')]);
    const warnings: string[] = [];
    const stats = await installTree(src, join(dir, 'dest'), { onWarning: (w) => warnings.push(w) });
    expect(stats).toMatchObject({ files: 1, skipped: 1 });
    expect(warnings).toEqual(['skipped pipe: not a regular file, directory or symlink']);
    expect(existsSync(join(dir, 'dest', 'pipe'))).toBe(false);
  });
});

describe('installTree: linking unchanged files from the previous release', () => {
  let src: string;
  let prev: string;
  let dest: string;

  beforeEach(async () => {
    const v1 = join(dir, 'v1');
    put(v1, 'unchanged.txt', 'same\n');
    put(v1, 'sub/unchanged2.txt', 'same too\n');
    put(v1, 'grown.txt', 'short');
    put(v1, 'samesize.txt', 'AAAA');
    put(v1, 'touched.txt', 'content');
    put(v1, 'modechg.sh', 'echo\n', 0o644);
    put(v1, 'quick.txt', 'XXXX');
    put(v1, 'empty.txt', '');
    prev = join(dir, 'releases', 'r1');
    await installTree(v1, prev);

    src = join(dir, 'v2');
    put(src, 'unchanged.txt', 'same\n');
    put(src, 'sub/unchanged2.txt', 'same too\n');
    put(src, 'grown.txt', 'much longer');
    put(src, 'samesize.txt', 'BBBB', 0o644, T2);
    put(src, 'touched.txt', 'content', 0o644, T2);
    put(src, 'modechg.sh', 'echo\n', 0o755);
    // same size and mtime: trusted as unchanged without reading it (the documented quick check)
    put(src, 'quick.txt', 'YYYY');
    put(src, 'empty.txt', '', 0o644, T2);
    put(src, 'new.txt', 'new');
    dest = join(dir, 'releases', 'r2');
  });

  it('hard-links files whose size, mode and mtime or content match, and copies the others', async () => {
    const stats = await installTree(src, dest, { previous: prev });
    const linked = (rel: string) => ino(join(dest, rel)) === ino(join(prev, rel));

    expect(linked('unchanged.txt')).toBe(true);
    expect(linked('sub/unchanged2.txt')).toBe(true);
    expect(linked('touched.txt')).toBe(true); // content compared when only the mtime differs
    expect(linked('empty.txt')).toBe(true);
    expect(linked('quick.txt')).toBe(true);
    expect(linked('grown.txt')).toBe(false);
    expect(linked('samesize.txt')).toBe(false);
    expect(linked('modechg.sh')).toBe(false);

    expect(readFileSync(join(dest, 'grown.txt'), 'utf8')).toBe('much longer');
    expect(readFileSync(join(dest, 'samesize.txt'), 'utf8')).toBe('BBBB');
    expect(statSync(join(dest, 'modechg.sh')).mode & 0o7777).toBe(0o755);
    expect(readFileSync(join(dest, 'new.txt'), 'utf8')).toBe('new');
    // the previous release is untouched
    expect(readFileSync(join(prev, 'samesize.txt'), 'utf8')).toBe('AAAA');
    expect(statSync(join(prev, 'modechg.sh')).mode & 0o7777).toBe(0o644);

    const linkedBytes = 'same\n'.length + 'same too\n'.length + 'content'.length + 0 + 'YYYY'.length;
    const copiedBytes = 'much longer'.length + 'BBBB'.length + 'echo\n'.length + 'new'.length;
    expect(stats).toEqual({
      files: 9,
      dirs: 1,
      symlinks: 0,
      copiedFiles: 4,
      copiedBytes,
      linkedFiles: 5,
      linkedBytes,
      skipped: 0,
      checksum: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('does not link through a directory of the previous release that is a symlink', async () => {
    // previous/sub is now a symlink to a directory holding the identical file
    const elsewhere = join(dir, 'elsewhere');
    put(elsewhere, 'unchanged2.txt', 'same too\n');
    rmSync(join(prev, 'sub'), { recursive: true });
    symlinkSync(elsewhere, join(prev, 'sub'));
    const stats = await installTree(src, dest, { previous: prev });
    expect(ino(join(dest, 'sub/unchanged2.txt'))).not.toBe(ino(join(elsewhere, 'unchanged2.txt')));
    expect(ino(join(dest, 'unchanged.txt'))).toBe(ino(join(prev, 'unchanged.txt')));
    expect(stats.linkedFiles).toBe(4);
  });

  it('does not link at all when the previous release itself is reached through a symlink', async () => {
    const current = join(dir, 'current');
    symlinkSync(prev, current);
    const stats = await installTree(src, dest, { previous: current });
    expect(stats.linkedFiles).toBe(0);
    expect(stats.copiedFiles).toBe(9);
    expect(ino(join(dest, 'unchanged.txt'))).not.toBe(ino(join(prev, 'unchanged.txt')));
  });

  it('copies everything when the previous release does not exist', async () => {
    const stats = await installTree(src, dest, { previous: join(dir, 'releases', 'gone') });
    expect(stats).toMatchObject({ linkedFiles: 0, copiedFiles: 9 });
  });
});

describe('installTree: move', () => {
  it('moves files out of the staging tree instead of copying them', async () => {
    const src = join(dir, 'staging');
    const dest = join(dir, 'dest');
    makeApp(src);
    const before = ino(join(src, 'a/b/c/deep.txt'));
    const stats = await installTree(src, dest, { move: true });
    expect(ino(join(dest, 'a/b/c/deep.txt'))).toBe(before);
    expect(existsSync(join(src, 'a/b/c/deep.txt'))).toBe(false);
    expect(existsSync(join(src, 'index.js'))).toBe(false);
    expect(statSync(join(dest, 'bin/run')).mode & 0o7777).toBe(0o755);
    expect(readlinkSync(join(dest, 'main.js'))).toBe('index.js');
    expect(stats).toMatchObject({ files: 4, copiedFiles: 4, linkedFiles: 0 });
  });

  it('still links unchanged files from the previous release when moving', async () => {
    const prev = join(dir, 'prev');
    put(prev, 'same.txt', 'same');
    put(prev, 'changed.txt', 'old!');
    const src = join(dir, 'staging');
    put(src, 'same.txt', 'same');
    put(src, 'changed.txt', 'new!', 0o644, T2);
    const dest = join(dir, 'dest');
    const stats = await installTree(src, dest, { move: true, previous: prev });
    expect(ino(join(dest, 'same.txt'))).toBe(ino(join(prev, 'same.txt')));
    expect(readFileSync(join(dest, 'changed.txt'), 'utf8')).toBe('new!');
    expect(stats).toMatchObject({ linkedFiles: 1, copiedFiles: 1 });
  });
});

describe('installTree: checksum', () => {
  const checksumOf = async (name: string, build: (root: string) => void) => {
    const src = join(dir, `${name}-src`);
    build(src);
    return (await installTree(src, join(dir, `${name}-dest`))).checksum;
  };

  it('is equal for identical trees, whatever their location and mtimes', async () => {
    const a = await checksumOf('a', makeApp);
    const b = await checksumOf('b', (root) => {
      makeApp(root);
      utimesSync(join(root, 'index.js'), T2, T2);
    });
    expect(a).toBe(b);
  });

  it('changes when a byte is added, a mode, a name or a link target changes', async () => {
    const base = await checksumOf('base', makeApp);
    const variants: [string, (root: string) => void][] = [
      ['byte', (r) => writeFileSync(join(r, 'a/b/c/deep.txt'), 'deep!\n')],
      ['mode', (r) => chmodSync(join(r, 'index.js'), 0o600)],
      ['name', (r) => execFileSync('mv', [join(r, 'index.js'), join(r, 'index2.js')])],
      ['link', (r) => (rmSync(join(r, 'main.js')), symlinkSync('bin/run', join(r, 'main.js')))],
      ['dir', (r) => mkdirSync(join(r, 'empty2'))],
    ];
    const seen = new Set([base]);
    for (const [name, change] of variants) {
      const sum = await checksumOf(name, (root) => {
        makeApp(root);
        change(root);
      });
      expect(seen.has(sum), name).toBe(false);
      seen.add(sum);
    }
  });
});

describe('sameContent', () => {
  it('compares files byte for byte, across chunk boundaries', () => {
    const big = Buffer.alloc(600 * 1024, 7);
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeFileSync(a, big);
    writeFileSync(b, big);
    expect(sameContent(a, b, big.length)).toBe(true);
    big[big.length - 1] = 8; // last byte, in the third chunk
    writeFileSync(b, big);
    expect(sameContent(a, b, big.length)).toBe(false);
    expect(sameContent(a, b, 0)).toBe(true);
  });
});
