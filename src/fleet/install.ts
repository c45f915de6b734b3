import { createHash } from 'node:crypto';
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeployerError, HostUnreachable } from '../errors.js';
import type { SshHost } from '../hosts/ssh.js';
import { create } from 'tar';

/** The oldest Node the agent bundle runs on (esbuild targets node20). */
export const MIN_NODE_MAJOR = 20;

/** What one round trip tells about a host before anything is done on it. */
export interface HostFacts {
  home: string;
  /** the Node version the host's `node` reports; null when there is none */
  nodeVersion: string | null;
  rsync: boolean;
  /** absolute path of this build's agent on the host */
  agentDir: string;
  agentPresent: boolean;
  /** the app's release ids on the host (a new release id must not be one of them) */
  releases: string[];
}

// static: the variable parts come as positional arguments ($1 node, $2 agent dir under $HOME,
// $3 the app's root, `~/` for the home)
const PROBE = [
  'cd || exit 97',
  'printf "home=%s\\n" "$HOME"',
  'r=$3; case $r in "~/"*) r=$HOME/${r#"~/"};; esac',
  'if [ -d "$r/releases" ]; then for d in "$r/releases"/*; do if [ -e "$d" ]; then printf "release=%s\\n" "${d##*/}"; fi; done; fi',
  // `--version` answers without starting the runtime: a few ms, not a node start a host
  'if command -v "$1" >/dev/null 2>&1; then printf "node=%s\\n" "$("$1" --version 2>/dev/null)"; fi',
  'if command -v rsync >/dev/null 2>&1; then echo rsync=yes; fi',
  'if test -f "$2/agent.js"; then echo agent=yes; fi',
  'exit 0',
].join('\n');

/** `sh -c PROBE probe NODE DIR`: one command, whatever the login shell is. */
export function probeCommand(node: string, agentRel: string, appRoot = ''): string[] {
  return ['sh', '-c', PROBE, 'probe', node, agentRel, appRoot];
}

export function parseProbe(stdout: string, agentRel: string): HostFacts {
  const lines = stdout.split('\n');
  const kv = new Map(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
  const home = kv.get('home') ?? '';
  return {
    home,
    nodeVersion: kv.get('node')?.replace(/^v/, '') || null,
    rsync: kv.get('rsync') === 'yes',
    agentDir: `${home.replace(/\/+$/, '')}/${agentRel}`,
    agentPresent: kv.get('agent') === 'yes',
    releases: lines.filter((l) => l.startsWith('release=')).map((l) => l.slice('release='.length)),
  };
}

/** Connects (opening the master connection), and checks the host can run the agent. */
export async function probeHost(h: SshHost, node: string, agentKey: string, appRoot = ''): Promise<HostFacts> {
  const rel = `.deployer/agent/${agentKey}`;
  const r = await h.run(probeCommand(node, rel, appRoot), { timeoutMs: 60_000 });
  if (r.code !== 0) throw new HostUnreachable(h.name, `could not inspect the host (exit ${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`);
  const facts = parseProbe(r.stdout, rel);
  if (!facts.nodeVersion)
    throw new HostUnreachable(h.name, `has no Node.js (\`${node}\` is not on its PATH); Deployer runs its agent with the host's node`, {
      hint: `install Node ${MIN_NODE_MAJOR} or later on the host, or set ssh.node to its path`,
    });
  const major = Number(facts.nodeVersion.split('.')[0]);
  if (!(major >= MIN_NODE_MAJOR))
    throw new HostUnreachable(h.name, `has Node ${facts.nodeVersion}; Deployer's agent needs Node ${MIN_NODE_MAJOR} or later`, { hint: 'upgrade Node on the host, or set ssh.node to a newer one' });
  return facts;
}

/** The built CLI (dist/): beside this module once bundled, or ../../dist from the sources. */
export function distDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  return existsSync(join(here, 'runtimed.js')) ? here : fileURLToPath(new URL('../../dist/', import.meta.url));
}

export interface AgentBundle {
  /** a directory holding the bundle as it is uploaded */
  dir: string;
  /** version and content hash: a host holding this key holds this exact build */
  key: string;
  /** the bundle as a tar stream, made once and only when a host lacks this build */
  tar(): Promise<Buffer>;
}

/** The agent as uploaded to hosts: dist/'s scripts (no source maps) and a package.json saying ESM. */
export async function agentBundle(home: string, version: string): Promise<AgentBundle> {
  const dist = distDir();
  const files = (await fsp.readdir(dist)).filter((f) => f.endsWith('.js')).sort();
  if (!files.includes('cli.js') || !files.includes('agent.js')) throw new Error(`the built CLI is missing (${dist}cli.js, agent.js): run \`npm run build\``);
  const hash = createHash('sha256');
  const contents = await Promise.all(files.map((f) => fsp.readFile(join(dist, f))));
  files.forEach((f, i) => hash.update(f).update('\0').update(contents[i]!));
  const key = `${version}-${hash.digest('hex').slice(0, 16)}`;
  const dir = join(home, 'agent', key);
  if (!existsSync(join(dir, 'cli.js'))) {
    const tmp = `${dir}.tmp-${process.pid}`;
    await fsp.mkdir(tmp, { recursive: true });
    await Promise.all(files.map((f, i) => fsp.writeFile(join(tmp, f), contents[i]!)));
    await fsp.writeFile(join(tmp, 'package.json'), `${JSON.stringify({ type: 'module', private: true, version })}\n`);
    await fsp.rename(tmp, dir).catch(async () => fsp.rm(tmp, { recursive: true, force: true }));
  }
  let tar: Promise<Buffer> | undefined;
  const pack = async () => {
    const chunks: Buffer[] = [];
    for await (const c of create({ cwd: dir, portable: true }, [...files, 'package.json'])) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  return { dir, key, tar: () => (tar ??= pack()) };
}

// unpack into a temp dir and rename it into place: a half-uploaded agent is never run
const INSTALL = 'set -e; t="$1.tmp.$$"; rm -rf "$t"; mkdir -p "$t"; tar -xf - -C "$t"; mv -T "$t" "$1" 2>/dev/null || rm -rf "$t"';

/** Uploads the agent when the host does not hold this build yet. */
export async function ensureAgent(h: SshHost, facts: HostFacts, bundle: AgentBundle): Promise<void> {
  if (facts.agentPresent) return;
  const r = await h.run(['sh', '-c', INSTALL, 'install', facts.agentDir], { input: await bundle.tar(), timeoutMs: 300_000 });
  if (r.code !== 0) throw new HostUnreachable(h.name, `could not install Deployer's agent in ${facts.agentDir}: ${r.stderr.trim().split('\n').pop() ?? `exit ${r.code}`}`);
}

/** Probes every host and installs the agent where it is missing, `limit` at a time; who could not be reached, and why. */
export async function connectHosts(
  hosts: SshHost[],
  node: string,
  bundle: AgentBundle,
  limit: <T>(task: () => Promise<T>) => Promise<T>,
  appRoot: (h: SshHost) => string = () => '',
): Promise<{ facts: Map<string, HostFacts>; unreachable: Map<string, string> }> {
  const facts = new Map<string, HostFacts>();
  const unreachable = new Map<string, string>();
  await Promise.all(
    hosts.map((h) =>
      limit(async () => {
        try {
          const f = await probeHost(h, node, bundle.key, appRoot(h));
          await ensureAgent(h, f, bundle);
          facts.set(h.name, f);
        } catch (e) {
          if (!(e instanceof DeployerError)) throw e;
          unreachable.set(h.name, e.message);
        }
      }),
    ),
  );
  return { facts, unreachable };
}
