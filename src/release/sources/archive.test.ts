import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SourceError, UnsafeArchiveError } from '../../errors.js';
import { detectArchiveFormat, extractArchive } from './archive.js';
import { buildArchive, type SpecEntry, type SpecFormat } from './archive-testkit.js';

// root/
//   archives/       the archives under test
//   outside.txt     sentinel a hostile archive aims at (../../outside.txt from the release)
//   work/release/   destDir; work/ must hold nothing else afterwards
let root: string;
let archives: string;
let parent: string;
let dest: string;
let sentinel: string;

beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'deployer-archive-'));
  archives = path.join(root, 'archives');
  parent = path.join(root, 'work');
  dest = path.join(parent, 'release');
  sentinel = path.join(root, 'outside.txt');
  await fs.mkdir(archives);
  await fs.mkdir(dest, { recursive: true });
  await fs.writeFile(sentinel, 'original');
});

afterEach(async () => {
  // extracted read-only directories must become writable again to be removed by a non-root user
  const walk = async (dir: string): Promise<void> => {
    await fs.chmod(dir, 0o755);
    for (const d of await fs.readdir(dir, { withFileTypes: true })) if (d.isDirectory()) await walk(path.join(dir, d.name));
  };
  await walk(root);
  await fs.rm(root, { recursive: true, force: true });
});

const build = (format: SpecFormat, entries: SpecEntry[]) => buildArchive(archives, format, entries);

async function expectNothingOutside(): Promise<void> {
  expect((await fs.readdir(parent)).sort()).toEqual(['release']);
  expect((await fs.readdir(root)).sort()).toEqual(['archives', 'outside.txt', 'work']);
  expect(await fs.readFile(sentinel, 'utf8')).toBe('original');
}

async function expectRefused(file: string, format: SpecFormat, entry: string, reason: string): Promise<UnsafeArchiveError> {
  const err: unknown = await extractArchive(file, dest, { format }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(UnsafeArchiveError);
  const msg = (err as Error).message;
  expect(msg).toContain(`${path.basename(file)}: entry ${JSON.stringify(entry)}`);
  expect(msg).toContain(reason);
  expect(msg).toMatch(/archive refused$/);
  await expectNothingOutside();
  // the whole archive is judged before the first write
  expect(await fs.readdir(dest)).toEqual([]);
  return err as UnsafeArchiveError;
}

describe('extractArchive refuses hostile archives', () => {
  // longer than the 100 bytes of a ustar name: the path travels in a pax extended header
  const paxEvil = `${'long/'.repeat(30)}${'../'.repeat(32)}outside.txt`;
  const cases: [string, SpecFormat, () => SpecEntry[], string | (() => string), string][] = [
    ['a ../ entry (after a harmless one)', 'tar.gz', () => [{ name: 'ok.txt', data: 'fine' }, { name: '../../outside.txt', data: 'pwned' }], '../../outside.txt', '".." in path'],
    ['a ../ entry in a tar.bz2', 'tar.bz2', () => [{ name: 'a/../../outside.txt', data: 'pwned' }], 'a/../../outside.txt', '".." in path'],
    ['a ../ path carried in a pax header', 'tar', () => [{ name: paxEvil, data: 'pwned' }], paxEvil, '".." in path'],
    ['an absolute path', 'tar.gz', () => [{ name: sentinel, data: 'pwned' }], () => sentinel, 'is an absolute path'],
    ['a symlink to /etc, then a file through it', 'tar.gz', () => [{ name: 'etc', type: 'symlink', target: '/etc' }, { name: 'etc/evil', data: 'x' }], 'etc', 'is a symlink to the absolute path "/etc"'],
    ['a symlink to ../../outside', 'tar.gz', () => [{ name: 'sub', type: 'dir' }, { name: 'sub/up', type: 'symlink', target: '../../outside.txt' }], 'sub/up', 'points outside the release directory'],
    ['a file written through a symlink of the same archive', 'tar', () => [{ name: 'a', type: 'symlink', target: '.' }, { name: 'a/x', data: 'x' }], 'a/x', 'would be written through the symlink "a"'],
    ['a symlink that escapes through another symlink', 'tar.gz', () => [{ name: 'sub', type: 'dir' }, { name: 't', type: 'symlink', target: 'sub/s/..' }, { name: 'sub/s', type: 'symlink', target: '..' }], 't', 'uses ".." after a symlink'],
    ['a hard link to /etc/passwd', 'tar.gz', () => [{ name: 'h', type: 'hardlink', target: '/etc/passwd' }], 'h', 'is a hard link to the absolute path "/etc/passwd"'],
    ['a hard link to ../x', 'tar.gz', () => [{ name: 'h', type: 'hardlink', target: '../x' }], 'h', '".." in path'],
    ['a hard link to a file the archive did not extract', 'tar', () => [{ name: 'h', type: 'hardlink', target: 'etc/passwd' }], 'h', 'not a regular file extracted earlier'],
    ['a hard link to a symlink', 'tar', () => [{ name: 'l', type: 'symlink', target: 'x' }, { name: 'h', type: 'hardlink', target: 'l' }], 'h', 'not a regular file extracted earlier'],
    ['a character device', 'tar.gz', () => [{ name: 'dev/null', type: 'chr' }], 'dev/null', 'is a character device'],
    ['a FIFO', 'tar.gz', () => [{ name: 'pipe', type: 'fifo' }], 'pipe', 'is a FIFO'],
    ['an entry type node-tar would skip', 'tar', () => [{ name: 'vol', rawType: 'V' }], 'vol', 'unsupported tar type'],
    ['a file replacing a directory', 'tar', () => [{ name: 'd', type: 'dir' }, { name: 'd', data: 'x' }], 'd', 'would replace a directory'],
    ['zip: a ../ name', 'zip', () => [{ name: '../../outside.txt', data: 'pwned' }], '../../outside.txt', '".." in path'],
    ['zip: an absolute name', 'zip', () => [{ name: sentinel, data: 'pwned' }], () => sentinel, 'is an absolute path'],
    ['zip: a drive letter', 'zip', () => [{ name: 'C:\\evil.txt', data: 'pwned' }], 'C:\\evil.txt', 'is an absolute path'],
    ['zip: backslash traversal', 'zip', () => [{ name: '..\\..\\outside.txt', data: 'pwned' }], '..\\..\\outside.txt', '".." in path'],
    ['zip: a symlink escaping', 'zip', () => [{ name: 'up', type: 'symlink', target: '../../outside.txt' }], 'up', 'points outside the release directory'],
    ['zip: a symlink with a backslash escape', 'zip', () => [{ name: 'up', type: 'symlink', target: '..\\..' }], 'up', 'points outside the release directory'],
    ['zip: a file through a symlink', 'zip', () => [{ name: 'a', type: 'symlink', target: '.' }, { name: 'a/x', data: 'x' }], 'a/x', 'written through the symlink "a"'],
    ['zip: a FIFO', 'zip', () => [{ name: 'pipe', type: 'fifo' }], 'pipe', 'is a FIFO'],
    ['zip: a character device', 'zip', () => [{ name: 'tty', type: 'chr' }], 'tty', 'is a character device'],
  ];
  it.each(cases)('%s', async (_title, format, entries, entry, reason) => {
    await expectRefused(build(format, entries()), format, typeof entry === 'string' ? entry : entry(), reason);
  });

  it('is an UnsafeArchiveError, which is a SourceError', async () => {
    const err = await expectRefused(build('tar', [{ name: '../x' }]), 'tar', '../x', '".." in path');
    expect(err).toBeInstanceOf(SourceError);
    expect(err.message).toMatch(/^app-\d+\.tar: entry "\.\.\/x" escapes the release directory \("\.\." in path\); archive refused$/);
  });
});

const tree = (hardlink: boolean): SpecEntry[] => [
  { name: 'app/', type: 'dir', mode: 0o750, mtime: 1600000000 },
  { name: 'app/bin/', type: 'dir', mtime: 1600000100 },
  { name: 'app/bin/run', data: '#!/bin/sh\necho hi\n', mode: 0o755, mtime: 1600000200 },
  { name: 'app/sub/', type: 'dir' },
  { name: 'app/sub/file', data: 'hello', mode: 0o640, mtime: 1600000300 },
  { name: 'app/setuid', data: 's', mode: 0o4755 },
  { name: 'app/link', type: 'symlink', target: 'sub/file' },
  { name: 'app/deep/er/implicit.txt', data: 'implicit parents' },
  ...(hardlink ? [{ name: 'app/hard', type: 'hardlink' as const, target: 'app/sub/file' }] : []),
];

describe('extractArchive extracts good archives', () => {
  it.each(['tar.gz', 'tar.bz2', 'tar', 'zip'] as const)('%s: contents, links, modes and mtimes', async (format) => {
    const tar = format !== 'zip';
    const result = await extractArchive(build(format, tree(tar)), dest, { format });
    const at = (p: string) => path.join(dest, p);
    const mode = async (p: string) => (await fs.lstat(at(p))).mode & 0o7777;
    const mtime = async (p: string) => (await fs.lstat(at(p))).mtimeMs / 1000;

    expect(await fs.readFile(at('app/bin/run'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    expect(await fs.readFile(at('app/deep/er/implicit.txt'), 'utf8')).toBe('implicit parents');
    expect(await fs.readlink(at('app/link'))).toBe('sub/file');
    expect(await fs.readFile(at('app/link'), 'utf8')).toBe('hello');
    expect(await mode('app/bin/run')).toBe(0o755);
    expect(await mode('app/sub/file')).toBe(0o640);
    expect(await mode('app/setuid')).toBe(0o755); // setuid dropped
    expect(await mode('app')).toBe(0o750);
    expect(await mode('app/deep')).toBe(0o755);
    expect(await mtime('app/sub/file')).toBe(1600000300);
    expect(await mtime('app/bin/run')).toBe(1600000200);
    expect(await mtime('app/bin')).toBe(1600000100);
    expect(await mtime('app')).toBe(1600000000);
    if (tar) expect((await fs.stat(at('app/hard'))).ino).toBe((await fs.stat(at('app/sub/file'))).ino);

    const bytes = '#!/bin/sh\necho hi\n'.length + 'hello'.length + 's'.length + 'implicit parents'.length;
    expect(result).toEqual({ files: tar ? 5 : 4, dirs: 5, symlinks: 1, bytes });
    await expectNothingOutside();
  });

  it.each(['tar.gz', 'tar.bz2', 'tar', 'zip'] as const)('%s: group and world write are dropped (0777 -> 0755, 0666 -> 0644)', async (format) => {
    const file = build(format, [
      { name: 'open/', type: 'dir', mode: 0o777 },
      { name: 'open/run', data: 'x', mode: 0o777 },
      { name: 'open/data', data: 'y', mode: 0o666 },
      { name: 'open/group', data: 'z', mode: 0o664 },
    ]);
    await extractArchive(file, dest, { format });
    const mode = async (p: string) => (await fs.stat(path.join(dest, p))).mode & 0o7777;
    expect([await mode('open'), await mode('open/run'), await mode('open/data'), await mode('open/group')]).toEqual([0o755, 0o755, 0o644, 0o644]);
  });

  it('archives made by the system tar and zip from a world-writable tree lose group and world write too', async () => {
    const src = path.join(root, 'src');
    await fs.mkdir(path.join(src, 'open'), { recursive: true });
    await fs.writeFile(path.join(src, 'open/run'), 'x');
    await fs.writeFile(path.join(src, 'open/data'), 'y');
    await fs.chmod(path.join(src, 'open/run'), 0o777);
    await fs.chmod(path.join(src, 'open/data'), 0o666);
    await fs.chmod(path.join(src, 'open'), 0o777);
    const tgz = path.join(archives, 'sys.tar.gz');
    const zip = path.join(archives, 'sys.zip');
    execFileSync('tar', ['czf', tgz, 'open'], { cwd: src });
    execFileSync('zip', ['-qr', zip, 'open'], { cwd: src });
    for (const [file, format] of [[tgz, 'tar.gz'], [zip, 'zip']] as const) {
      const out = path.join(root, `out-${format}`);
      await fs.mkdir(out);
      await extractArchive(file, out, { format });
      const mode = async (p: string) => (await fs.stat(path.join(out, p))).mode & 0o7777;
      expect([await mode('open'), await mode('open/run'), await mode('open/data')], format).toEqual([0o755, 0o755, 0o644]);
    }
  });

  it('zip: no unix mode means 0644 files and 0755 directories', async () => {
    const file = build('zip', [
      { name: 'plain/', type: 'dir', attr: 0 },
      { name: 'plain/a.txt', data: 'a', attr: 0 },
    ]);
    await extractArchive(file, dest, { format: 'zip' });
    expect((await fs.stat(path.join(dest, 'plain'))).mode & 0o777).toBe(0o755);
    expect((await fs.stat(path.join(dest, 'plain/a.txt'))).mode & 0o777).toBe(0o644);
  });

  it('stripComponents drops leading components and skips entries that have none left', async () => {
    const file = build('tar.gz', [
      { name: './', type: 'dir' },
      { name: './top.txt', data: 'skipped' },
      { name: './app-1.0/', type: 'dir' },
      { name: './app-1.0/a.txt', data: 'a' },
      { name: './app-1.0/sub/b.txt', data: 'b' },
      { name: './app-1.0/h', type: 'hardlink', target: './app-1.0/a.txt' },
    ]);
    const result = await extractArchive(file, dest, { format: 'tar.gz', stripComponents: 2 });
    expect((await fs.readdir(dest)).sort()).toEqual(['a.txt', 'h', 'sub']);
    expect(await fs.readFile(path.join(dest, 'sub/b.txt'), 'utf8')).toBe('b');
    expect(await fs.readFile(path.join(dest, 'h'), 'utf8')).toBe('a');
    expect(result).toMatchObject({ files: 3, dirs: 1 });
  });

  it('takes "./" as the release directory itself', async () => {
    const file = build('tar', [{ name: './', type: 'dir', mode: 0o700 }, { name: './a.txt', data: 'a' }]);
    expect(await extractArchive(file, dest, { format: 'tar' })).toEqual({ files: 1, dirs: 0, symlinks: 0, bytes: 1 });
    expect(await fs.readdir(dest)).toEqual(['a.txt']);
  });

  it('lets a later entry replace an earlier file, and fills read-only directories', async () => {
    const file = build('tar', [
      { name: 'a', data: 'one' },
      { name: 'a', data: 'two' },
      { name: 'ro/', type: 'dir', mode: 0o555 },
      { name: 'ro/f', data: 'f', mode: 0o444 },
    ]);
    await extractArchive(file, dest, { format: 'tar' });
    expect(await fs.readFile(path.join(dest, 'a'), 'utf8')).toBe('two');
    expect((await fs.stat(path.join(dest, 'ro'))).mode & 0o777).toBe(0o555);
    expect((await fs.stat(path.join(dest, 'ro/f'))).mode & 0o777).toBe(0o444);
  });
});

/** Deterministic incompressible text, so truncation lands inside file data. */
const noise = (n: number) => {
  let out = '';
  for (let i = 0; out.length < n; i++) out += createHash('sha256').update(String(i)).digest('hex');
  return out.slice(0, n);
};

describe('extractArchive on damaged archives', () => {
  async function expectDamaged(file: string, format: SpecFormat, fragment: RegExp): Promise<void> {
    const err: unknown = await extractArchive(file, dest, { format }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceError);
    expect(err).not.toBeInstanceOf(UnsafeArchiveError);
    expect((err as Error).message).toContain(path.basename(file));
    expect((err as Error).message).toMatch(fragment);
    await expectNothingOutside();
  }
  const truncate = async (file: string, keep: number) => {
    const buf = await fs.readFile(file);
    await fs.writeFile(file, buf.subarray(0, Math.floor(buf.length * keep)));
    return file;
  };

  it.each(['tar.gz', 'tar', 'tar.bz2'] as const)('%s: truncated', async (format) => {
    const file = await truncate(build(format, [{ name: 'big.txt', data: noise(300_000) }, { name: 'z.txt', data: 'z' }]), 0.5);
    await expectDamaged(file, format, format === 'tar.bz2' ? /bzip2|tar/ : /not a valid tar archive/);
  });

  it('tar.gz: not an archive at all', async () => {
    const file = path.join(archives, 'junk.tar.gz');
    await fs.writeFile(file, noise(5000));
    await expectDamaged(file, 'tar.gz', /not a valid tar archive/);
  });

  it('tar: empty file', async () => {
    const file = path.join(archives, 'empty.tar');
    await fs.writeFile(file, '');
    await expectDamaged(file, 'tar', /not a valid tar archive/);
  });

  it('tar.bz2: not bzip2 data', async () => {
    const file = path.join(archives, 'junk.tar.bz2');
    await fs.writeFile(file, noise(5000));
    await expectDamaged(file, 'tar.bz2', /bzip2 cannot decompress it/);
  });

  it('zip: truncated (no central directory)', async () => {
    const file = await truncate(build('zip', [{ name: 'big.txt', data: noise(100_000) }]), 0.5);
    await expectDamaged(file, 'zip', /not a valid zip archive/);
  });

  it('zip: corrupt file data names the entry', async () => {
    const file = build('zip', [{ name: 'big.txt', data: noise(100_000) }]);
    const buf = await fs.readFile(file);
    buf.fill(0xff, 20_000, 20_200); // inside the deflate stream of big.txt
    await fs.writeFile(file, buf);
    await expectDamaged(file, 'zip', /big\.txt/);
  });

  it('tar.bz2 without a bzip2 program says so', async () => {
    const file = build('tar.bz2', [{ name: 'a.txt', data: 'a' }]);
    const saved = process.env.PATH;
    process.env.PATH = path.join(root, 'no-such-bin');
    try {
      const err: unknown = await extractArchive(file, dest, { format: 'tar.bz2' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SourceError);
      expect((err as Error).message).toContain('bzip2 is not installed');
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('detectArchiveFormat', () => {
  it.each([
    ['app.tar.gz', 'tar.gz'],
    ['/srv/builds/APP-1.0.TGZ', 'tar.gz'],
    ['app.tar.bz2', 'tar.bz2'],
    ['app.tbz2', 'tar.bz2'],
    ['app.tbz', 'tar.bz2'],
    ['app.tar', 'tar'],
    ['app.zip', 'zip'],
    ['https://example.com/r/app.tar.gz?token=abc#frag', 'tar.gz'],
    ['https://user:pw@example.com/app.zip?name=x.tar', 'zip'],
    ['app.tgz#top', 'tar.gz'],
    ['https://example.com/download?file=app.tar.gz', null],
    ['app.tar.xz', null],
    ['app.gz', null],
    ['README', null],
  ])('%s -> %s', (input, expected) => {
    expect(detectArchiveFormat(input)).toBe(expected);
  });
});
