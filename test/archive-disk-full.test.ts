// Extracting an archive onto a full disk: the error says the disk is full and names the file.
import { mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rejection } from '../src/checks/test-support.js';
import { DiskFullError } from '../src/errors.js';
import { ReleaseWriter } from '../src/release/sources/archive-writer.js';
import { canMountTmpfs, mountTmpfs, unmountTmpfs, warnIfNoTmpfs } from './support/tmpfs.js';

warnIfNoTmpfs('archive-disk-full');

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

describe.skipIf(!canMountTmpfs)('archive extraction on a full disk', () => {
  it('fails with DiskFullError naming the file being written', async () => {
    const dest = join(dir, 'release');
    mkdirSync(dest);
    const w = new ReleaseWriter(dest, 'app.tar');
    const err = await rejection(w.file('big.bin', { rawPath: 'big.bin', mode: 0o644, mtime: undefined }, false, chunks(4, 64 * 1024)), DiskFullError);
    expect(err.message).toBe(`the disk is full (ENOSPC): no space left to write ${join(dest, 'big.bin')}`);
    expect(err.exitCode).toBe(1);
  });
});
