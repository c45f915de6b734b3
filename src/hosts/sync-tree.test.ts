import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runProcess, type RunResult } from '../util/process.js';
import { syncTree } from './sync-tree.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'sync-tree-'));
  mkdirSync(join(dir, 'a', 'b'), { recursive: true });
  writeFileSync(join(dir, 'one'), '1');
  writeFileSync(join(dir, 'a', 'b', 'two'), '2');
  symlinkSync('/etc/hostname', join(dir, 'link'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('syncTree', () => {
  it('runs `sync -f` on the directory', async () => {
    const argvs: (readonly string[])[] = [];
    const how = await syncTree(dir, (argv, o) => (argvs.push(argv), runProcess(argv, o)));
    expect(how).toBe('sync -f');
    expect(argvs).toEqual([['sync', '-f', '--', dir]]);
  });

  it('fsyncs each file and directory (not through links) where `sync -f` is missing', async () => {
    const missing = async (): Promise<RunResult> => ({ code: 1, signal: null, stdout: '', stderr: "sync: invalid option -- 'f'", timedOut: false, durationMs: 1 });
    // one, two, and the directories a/b, a and the root
    expect(await syncTree(dir, missing)).toBe('fsync of 5 entries');
  });
});
