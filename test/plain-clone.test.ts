// A user's `git clone` is the repository and nothing beside it: no code, test, benchmark or script
// may reach for a directory next to the clone (our machines have one there; a clone does not).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';

const TREES = ['src', 'test', 'bench', 'scripts', '.ci'];
/** what a run writes or installs there, not the project's own files */
const SKIP = new Set(['node_modules', '.peers', 'results']);

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : files(p);
    return e.isFile() && statSync(p).size < 1_000_000 ? [p] : [];
  });
}

/**
 * The directory our machines keep beside the clone, by what it holds (the test hosts' scripts,
 * hooks, seeds, design notes): reached by `..` segments, as a `..` then `shared` pair of path segments, or by
 * its absolute path. (A release's own `shared/`, as in a symlink target, names none of these.)
 */
const BESIDE = [
  /(?:\.\.\/)+shared\/(?:hosts|hooks|seeds|DESIGN|STYLE|RECIPES)\b/,
  /['"]\.\.['"]\s*,\s*['"]shared['"]/,
  /\/work\/shared\b/,
];

/** The lines of `file` that name that directory. */
function besideReferences(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((line, n) => ({ line, n: n + 1 }))
    .filter(({ line }) => BESIDE.some((re) => re.test(line)))
    .map(({ line, n }) => `${relative(ROOT, file)}:${n}: ${line.trim()}`);
}

describe('a plain clone', () => {
  it('has no code, test, benchmark or script reading a directory beside the repository', () => {
    const found = TREES.flatMap((t) => files(join(ROOT, t))).flatMap(besideReferences);
    expect(found).toEqual([]);
  });
});
