import { SshHost } from '../hosts/ssh.js';
import type { SshSettings } from '../hosts/ssh-args.js';
import type { HostTarget } from '../hosts/targets.js';
import type { LoadedManifest } from '../manifest/load.js';
import { hostManifest, HOST_MANIFEST_ENV } from './host-manifest.js';
import { agentBundle, connectHosts } from './install.js';
import { limiter } from './policy.js';

export interface VerbResult {
  host: string;
  /** the verb's exit code on that host; 1 when it could not be reached */
  code: number;
  stdout: string;
  stderr: string;
  unreachable?: string;
}

// the manifest arrives on stdin, is kept in a private temp file for the verb, then removed
const RUN_VERB = [
  'f=$(mktemp) || exit 70',
  // it holds the manifest's secrets: gone however the verb ends
  'trap \'rm -f "$f"\' EXIT HUP INT TERM',
  'cat > "$f"',
  'n=$1; c=$2; shift 2',
  `${HOST_MANIFEST_ENV}="$f" CI=true "$n" "$c" "$@"`,
  'r=$?; rm -f "$f"; exit $r',
].join('\n');

export function verbCommand(node: string, cli: string, argv: readonly string[]): string[] {
  return ['sh', '-c', RUN_VERB, 'verb', node, cli, ...argv];
}

/**
 * A verb that reads or tidies an app's state (status, releases, history, doctor, unlock,
 * cleanup, protect, promote, abort) run by Deployer's agent on every host, in parallel.
 */
export async function runVerbOnHosts(o: { loaded: LoadedManifest; targets: HostTarget[]; argv: string[]; home: string; version: string; ssh: SshSettings }): Promise<VerbResult[]> {
  const hosts = o.targets.map((t) => new SshHost(t, o.ssh));
  const limit = limiter(o.ssh.config.parallel);
  const bundle = await agentBundle(o.home, o.version);
  const { facts, unreachable } = await connectHosts(hosts, o.ssh.config.node, bundle, limit);
  return Promise.all(
    hosts.map((h) =>
      limit(async (): Promise<VerbResult> => {
        const f = facts.get(h.name);
        if (!f) return { host: h.name, code: 1, stdout: '', stderr: '', unreachable: unreachable.get(h.name)! };
        const input = JSON.stringify(hostManifest(o.loaded, h.target));
        const r = await h.exec(verbCommand(o.ssh.config.node, `${f.agentDir}/cli.js`, o.argv), { input, timeoutMs: 15 * 60_000 });
        if (r.code === 255) return { host: h.name, code: 1, stdout: r.stdout, stderr: r.stderr, unreachable: r.stderr.trim().split('\n').pop() ?? 'the connection dropped' };
        return { host: h.name, code: r.code ?? 1, stdout: r.stdout, stderr: r.stderr };
      }),
    ),
  );
}
