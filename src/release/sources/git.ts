import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError } from '../../errors.js';
import { FULL_COMMIT_ID } from '../../manifest/schema/source.js';
import { displayUrl, displayUrlsIn, withoutCredentials } from '../../util/url.js';
import { describeExit, runProcess, type RunResult } from '../../util/process.js';

export interface GitCheckout {
  commit: string;
  /** the branch or tag deployed, or null when a bare commit was asked for */
  branch: string | null;
  /** `git describe --tags --always` of the commit */
  describe: string;
}

const GIT_ENV = { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', LC_ALL: 'C' };

async function git(args: string[], cwd?: string, env: NodeJS.ProcessEnv = GIT_ENV, timeoutMs = 600_000): Promise<RunResult> {
  return runProcess(['git', ...args], { env, timeoutMs, ...(cwd ? { cwd } : {}) });
}

async function gitOk(args: string[], what: string, cwd?: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await git(args, cwd, env);
  if (r.spawnError) throw new SourceError('git is not installed (needed for `source.type: git`)');
  if (r.code !== 0) throw new SourceError(`${what}: git ${args[0]} ${describeExit(r)}: ${displayUrlsIn(lastLine(r.stderr) || lastLine(r.stdout))}`);
  return r.stdout.trim();
}

/** Answers git's "Username for ..." and "Password for ..." prompts from its own environment. */
const ASKPASS = `#!/bin/sh
case "$1" in
  Username*) printf '%s\n' "$DEPLOYER_GIT_USERNAME" ;;
  *) printf '%s\n' "$DEPLOYER_GIT_PASSWORD" ;;
esac
`;

/**
 * Runs `fn` with the environment for the git commands that talk to the remote. Credentials of
 * the URL never reach git's command line (every local user sees it in `ps`) nor the mirror's
 * config: git gets the URL without them and asks an askpass script (0700, in a private temp
 * directory removed afterwards) that prints them from the environment of that git child only.
 * Credential helpers are switched off, so none stores them either.
 */
async function withCredentials<T>(user: string | undefined, password: string | undefined, fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  if (user === undefined) return fn(GIT_ENV);
  const dir = await mkdtemp(join(tmpdir(), 'deployer-askpass-'));
  try {
    const askpass = join(dir, 'askpass');
    await writeFile(askpass, ASKPASS, { mode: 0o700 });
    return await fn({
      ...GIT_ENV,
      GIT_ASKPASS: askpass,
      DEPLOYER_GIT_USERNAME: user,
      DEPLOYER_GIT_PASSWORD: password ?? '',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'credential.helper',
      GIT_CONFIG_VALUE_0: '',
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Brings the mirror of `url` in `cacheDir` up to date and writes the tree of `ref` (branch,
 * tag or commit; default the remote HEAD) as a tar file, with the git CLI. The mirror keeps
 * later deploys to a fetch of what changed.
 */
export async function exportGitTree(url: string, ref: string | undefined, cacheRoot: string, tarFile: string): Promise<GitCheckout> {
  // over ssh the user is the account, not a secret; over http(s) userinfo is a credential
  const remote = /^https?:\/\//i.test(url) ? withoutCredentials(url) : { url };
  // one mirror per repository, whatever the credentials (a rotated token fetches into the same)
  const mirrorOf = (u: string) => join(cacheRoot, createHash('sha256').update(u).digest('hex').slice(0, 24));
  const cache = mirrorOf(remote.url);
  const what = `git source ${displayUrl(url)}`;
  const hasHead = (dir: string) =>
    stat(join(dir, 'HEAD')).then(
      () => true,
      () => false,
    );
  // an older version keyed the mirror by the URL with its credentials: move it (set-url below cleans its config)
  if (remote.url !== url && !(await hasHead(cache)) && (await hasHead(mirrorOf(url)))) await rename(mirrorOf(url), cache);
  const exists = await hasHead(cache);
  await withCredentials(remote.user, remote.password, async (env) => {
    if (!exists) {
      await rm(cache, { recursive: true, force: true });
      await mkdir(cacheRoot, { recursive: true });
      await gitOk(['clone', '--mirror', '--quiet', '--', remote.url, cache], `${what}: clone failed`, undefined, env);
    } else {
      // also takes out the credentials an older version left in the mirror's config
      await gitOk(['remote', 'set-url', 'origin', '--', remote.url], what, cache);
      await gitOk(['fetch', '--prune', '--quiet', 'origin'], `${what}: fetch failed`, cache, env);
    }
  });

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
  // a full commit id pins the tree: it names that object only, never a branch or tag so named
  if (FULL_COMMIT_ID.test(ref)) {
    const commit = await verify(cache, ref);
    return commit === ref.toLowerCase() ? { commit, branch: null } : null;
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
