// Writes onto a full disk: the error says the disk is full and names the file, and nothing is
// left half-written.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from '../src/checks/test-support.js';
import { DiskFullError } from '../src/errors.js';
import { localFs } from '../src/hosts/local-fs.js';
import { ReleaseWriter } from '../src/release/sources/archive-writer.js';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs, warnIfNoTmpfs } from './support/tmpfs.js';

warnIfNoTmpfs('fs-disk-full');

let dir = '';
let mounted = false;
beforeAll(() => {
  if (!canMountTmpfs) return;
  dir = realpathSync(mkdtempSync(join(tmpdir(), 'adf-')));
  mountTmpfs(dir, 64);
  mounted = true;
});
afterAll(() => {
  if (mounted) unmountTmpfs(dir);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function* chunks(n: number, size: number): AsyncIterable<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, 1);
}

describe.skipIf(!canMountTmpfs)('writes on a full disk', () => {
  it('archive extraction fails with DiskFullError naming the file being written', async () => {
    const dest = join(dir, 'release');
    mkdirSync(dest);
    const w = new ReleaseWriter(dest, 'app.tar');
    const err = await rejection(w.file('big.bin', { rawPath: 'big.bin', mode: 0o644, mtime: undefined }, false, chunks(4, 64 * 1024)), DiskFullError);
    expect(err.message).toBe(`the disk is full (ENOSPC): no space left to write ${join(dest, 'big.bin')}`);
    expect(err.exitCode).toBe(1);
    rmSync(dest, { recursive: true });
  });

  it('an append that only partly fits fails naming the file, and leaves the file as it was', async () => {
    const file = join(dir, 'history.jsonl');
    // one page nearly full: the first bytes of the line fit, the rest needs a page there is none of
    const before = `${'x'.repeat(4096 - 11)}\n`;
    writeFileSync(file, before);
    fillDisk(dir, join(dir, 'filler'));
    try {
      const err = await rejection(localFs.appendLine(file, 'y'.repeat(100)), DiskFullError);
      expect(err.message).toBe(`the disk is full (ENOSPC): no space left to write ${file}`);
      expect(readFileSync(file, 'utf8')).toBe(before);
    } finally {
      rmSync(join(dir, 'filler'), { force: true });
    }
  });
});
