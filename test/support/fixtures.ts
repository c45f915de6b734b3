import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { BIN, type CliResult } from './cli.js';
import type { Sandbox } from './sandbox.js';

/** The line Sandbox.manifest() writes for the source; replaced by `writeManifest`. */
const LOCAL_SOURCE = 'source: { type: local, path: ./app }';

export interface ManifestParts {
  /** a `source:` line (or block) replacing the local ./app source */
  source?: string;
  /** extra `environment:` entries (values are written as YAML double-quoted strings) */
  env?: Record<string, string>;
  /** appended at the end (hooks:, deployment:, ...) */
  extra?: string;
  checks?: boolean;
}

/** The sandbox's manifest (script manager, health check) with another source and environment. */
export function writeManifest(sb: Sandbox, p: ManifestParts = {}): string {
  let text = sb.manifest(p.extra ?? '', p.checks === false ? { checks: false } : {});
  if (p.source) text = text.replace(LOCAL_SOURCE, p.source);
  if (p.env) {
    const lines = Object.entries(p.env).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}\n`);
    text = text.replace('environment:\n', `environment:\n${lines.join('')}`);
  }
  sb.writeManifest(text);
  return text;
}

/** A `hooks:` block: each event gets the given commands (YAML double-quoted). */
export function hooksYaml(hooks: Record<string, string[]>, settings: Record<string, string> = {}): string {
  const lines = ['hooks:'];
  for (const [k, v] of Object.entries(settings)) lines.push(`  ${k}: ${v}`);
  for (const [event, cmds] of Object.entries(hooks)) lines.push(`  ${event}: [${cmds.map((c) => JSON.stringify(c)).join(', ')}]`);
  return `${lines.join('\n')}\n`;
}

export interface Started {
  pid: number;
  done: Promise<CliResult>;
}

/** Starts the built CLI as a real process in the sandbox and returns its pid at once. */
export function startCli(sb: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Started {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: sb.dir,
    env: { ...process.env, CI: 'true', NO_COLOR: '1', ...sb.env(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stdout.trim().split('\n').pop() ?? '';
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(last) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, signal, stdout, stderr, ...(json ? { json } : {}) });
    });
  });
  if (child.pid === undefined) throw new Error('could not start the CLI');
  return { pid: child.pid, done };
}

/** True when the process is gone or a zombie (nobody may reap it in a container). */
export { isGone as isDead } from '../../src/checks/test-support.js';

/**
 * Every entry under `root` (recursively, symlinks not followed) as `path -> description`: the
 * type, the mode, and for files the size and SHA-256, for links the target. Two snapshots are
 * equal when the tree is byte-identical. `ignore` lists relative paths left out.
 */
export function snapshotTree(root: string, ignore: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      if (ignore.includes(r)) continue;
      const p = join(root, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `link -> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `dir ${mode}`;
        walk(r);
      } else out[r] = `file ${mode} ${st.size} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk('');
  return out;
}

/** Relative paths of the regular files under `root` whose content contains `needle`. */
export function filesContaining(root: string, needle: string): string[] {
  const hits: string[] = [];
  if (!existsSync(root)) return hits;
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, r));
      if (st.isDirectory()) walk(r);
      else if (st.isFile() && readFileSync(join(root, r)).includes(needle)) hits.push(r);
    }
  };
  walk('');
  return hits;
}

/** Every file under `root`, recursively (relative paths). */
export function listFiles(root: string): string[] {
  return Object.entries(snapshotTree(root))
    .filter(([, d]) => d.startsWith('file'))
    .map(([p]) => p);
}

/** Events of a deploy log (.deploy_state/logs/<id>.jsonl). */
export function readLog(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Runs a program (argv, no shell) and returns its stdout; throws on a non-zero exit. */
export function run(argv: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  const [cmd, ...args] = argv;
  return execFileSync(cmd!, args, { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.invalid',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.invalid',
  // every commit at the same second, as an automated pipeline commits: mtimes in an export are the commit time
  GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** git in `cwd` with a fixed identity and date, and no user or system config. */
export function git(cwd: string, ...args: string[]): string {
  return run(['git', ...args], cwd, GIT_ENV).trim();
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/**
 * A directory with an executable `git` that appends its first argument (`wholeArgv`: all of
 * them, on one line) to `log` and runs the real git: put it first on PATH to count clones and
 * fetches, or to see every command line git was given.
 */
export function gitSpy(dir: string, log: string, wholeArgv = false): string {
  const realGit = run(['sh', '-c', 'command -v git'], dir).trim();
  const script = `#!/bin/sh\n${wholeArgv ? 'printf "%s\\n" "$*"' : 'echo "$1"'} >> ${JSON.stringify(log)}\nexec ${JSON.stringify(realGit)} "$@"\n`;
  writeFileSync(join(dir, 'git'), script, { mode: 0o755 });
  return dir;
}

export interface FileServer {
  url(path: string, auth?: string): string;
  requests: { url: string; authorization: string | undefined }[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 serving `files` (URL path -> file). With `auth`
 * ("user:password") every request without those basic-auth credentials gets 401.
 */
export async function serveFiles(files: Record<string, string>, auth?: string): Promise<FileServer> {
  const requests: FileServer['requests'] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    if (auth && req.headers.authorization !== `Basic ${Buffer.from(auth).toString('base64')}`) {
      res.statusCode = 401;
      return res.end('unauthorized');
    }
    const file = files[req.url ?? ''];
    if (!file) {
      res.statusCode = 404;
      return res.end('not found');
    }
    res.setHeader('content-type', 'application/octet-stream');
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (path, a) => `http://${a ? `${a}@` : ''}127.0.0.1:${port}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A stack trace frame in output ("    at fn (file:line)"): user errors must never show one. */
export const STACK_FRAME = /^\s+at\s/m;
