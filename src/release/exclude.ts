import picomatch from 'picomatch';

/**
 * rsync-like exclude patterns:
 * - `node_modules` (no slash) matches that name at any depth;
 * - `/tmp` (leading slash) only at the top of the tree;
 * - `docs/**` or `a/b` (a slash inside) match the path from the top;
 * - a trailing `/` matches directories only.
 */
export type ExcludeMatcher = (relPath: string, isDir: boolean) => boolean;

export function excludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const rules = patterns.map((raw) => {
    const dirOnly = raw.endsWith('/');
    let p = dirOnly ? raw.replace(/\/+$/, '') : raw;
    const anchored = p.startsWith('/') || p.includes('/');
    p = p.replace(/^\/+/, '');
    const match = picomatch(p, { dot: true });
    return { dirOnly, anchored, match };
  });
  if (rules.length === 0) return () => false;
  return (relPath, isDir) => {
    const base = relPath.slice(relPath.lastIndexOf('/') + 1);
    return rules.some((r) => (!r.dirOnly || isDir) && (r.anchored ? r.match(relPath) : r.match(base)));
  };
}
