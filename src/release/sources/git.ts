import { createHash } from 'node:crypto';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SourceError } from '../../errors.js';
import { displayUrl } from '../../util/url.js';
import { describeExit, runProcess, type RunResult } from '../../util/process.js';

export interface GitCheckout {
  commit: string;
  /** the branch or tag deployed, or null when a bare commit was asked for */
  branch: string | null;
  /** `git describe --tags --always` of the commit */
  describe: string;
}

const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };

async function git(args: string[], cwd?: string, timeoutMs = 600_000): Promise<RunResult> {
  return runProcess(['git', ...args], { env: GIT_ENV, timeoutMs, ...(cwd ? { cwd } : {}) });
}

async function gitOk(args: string[], what: string, cwd?: string): Promise<string> {
  const r = await git(args, cwd);
  if (r.spawnError) throw new SourceError('git is not installed (needed for `source.type: git`)');
  if (r.code !== 0) throw new SourceError(`${what}: git ${args[0]} ${describeExit(r)}: ${lastLine(r.stderr) || lastLine(r.stdout)}`);
  return r.stdout.trim();
}

/**
 * Brings the mirror of `url` in `cacheDir` up to date and writes the tree of `ref` (branch,
 * tag or commit; default the remote HEAD) as a tar file, with the git CLI. The mirror keeps
 * later deploys to a fetch of what changed.
 */
export async function exportGitTree(url: string, ref: string | undefined, cacheRoot: string, tarFile: string): Promise<GitCheckout> {
  const cache = join(cacheRoot, createHash('sha256').update(url).digest('hex').slice(0, 24));
  const what = `git source ${displayUrl(url)}`;
  const exists = await stat(join(cache, 'HEAD')).then(
    () => true,
    () => false,
  );
  if (!exists) {
    await rm(cache, { recursive: true, force: true });
    await mkdir(cacheRoot, { recursive: true });
    await gitOk(['clone', '--mirror', '--quiet', '--', url, cache], `${what}: clone failed`);
  } else {
    await gitOk(['remote', 'set-url', 'origin', '--', url], what, cache);
    await gitOk(['fetch', '--prune', '--quiet', 'origin'], `${what}: fetch failed`, cache);
  }

  const wanted = ref ?? 'HEAD';
  const resolved = await resolveRef(cache, wanted);
  if (!resolved) throw new SourceError(`${what}: no branch, tag or commit named "${wanted}"`);
  await gitOk(['archive', '--format=tar', `--output=${tarFile}`, resolved.commit], `${what}: export of ${resolved.commit} failed`, cache);
  const describe = (await git(['describe', '--tags', '--always', resolved.commit], cache)).stdout.trim() || resolved.commit.slice(0, 12);
  return { commit: resolved.commit, branch: resolved.branch, describe };
}

async function resolveRef(cache: string, ref: string): Promise<{ commit: string; branch: string | null } | null> {
  if (ref === 'HEAD') {
    const head = await git(['symbolic-ref', '--short', 'HEAD'], cache);
    const commit = await verify(cache, 'HEAD');
    return commit ? { commit, branch: head.code === 0 ? head.stdout.trim() : null } : null;
  }
  for (const [full, isName] of [
    [`refs/heads/${ref}`, true],
    [`refs/tags/${ref}`, true],
    [ref, false],
  ] as const) {
    // refuse option-looking refs outright: they never reach git as a flag
    if (ref.startsWith('-')) return null;
    const commit = await verify(cache, full);
    if (commit) return { commit, branch: isName ? ref : null };
  }
  return null;
}

async function verify(cache: string, ref: string): Promise<string | null> {
  const r = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`], cache);
  return r.code === 0 ? r.stdout.trim() : null;
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).pop() ?? '';
}
