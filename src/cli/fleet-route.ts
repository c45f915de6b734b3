import { parseArgs } from 'node:util';
import { gravestExit } from '../errors.js';
import { HOST_MANIFEST_ENV } from '../fleet/host-manifest.js';
import { hostFilter, isFleet, selectHosts } from '../hosts/targets.js';
import { FLEET_VERBS, verbOf } from './commands/index.js';
import { deployerHome, openApp, type GlobalOptions } from './context.js';
import { makeStyle } from './render/style.js';

declare const __DEPLOYER_VERSION__: string;

/** args without --hosts/--roles (the hosts run the verb on themselves) */
function hostArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--hosts' || a === '--roles') i++;
    else if (!a.startsWith('--hosts=') && !a.startsWith('--roles=')) out.push(a);
  }
  return out;
}

/**
 * When the manifest's hosts (after --hosts/--roles) are remote, runs such a verb on each of
 * them and prints their answers, one section a host (--json: one object with each host's
 * result). Null when the verb is not one of those, or the app is on this machine only.
 */
export async function routeToFleet(args: string[]): Promise<number | null> {
  const verb = verbOf(args);
  if (!verb || !FLEET_VERBS.has(verb) || process.env[HOST_MANIFEST_ENV]) return null;
  const { values } = parseArgs({
    args,
    strict: false,
    allowPositionals: true,
    options: { file: { type: 'string', short: 'f' }, env: { type: 'string', short: 'e' }, hosts: { type: 'string' }, roles: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) return null;
  const o: GlobalOptions = { file: typeof values.file === 'string' ? values.file : 'deploy.yml', ...(typeof values.env === 'string' ? { env: values.env } : {}) };
  const { loaded } = await openApp(o);
  const targets = selectHosts(loaded.manifest.hosts, hostFilter(typeof values.hosts === 'string' ? values.hosts : undefined, typeof values.roles === 'string' ? values.roles : undefined));
  if (!isFleet(targets)) return null;
  const { runVerbOnHosts } = await import('../fleet/verbs.js');
  const { controlDir, sshSettingsFor } = await import('./commands/fleet-operate.js');
  const home = deployerHome();
  const results = await runVerbOnHosts({
    loaded,
    targets,
    argv: hostArgs(args),
    home,
    version: typeof __DEPLOYER_VERSION__ === 'string' ? __DEPLOYER_VERSION__ : 'dev',
    ssh: sshSettingsFor(loaded, await controlDir(home)),
  });
  const s = makeStyle(process.stderr);
  if (values.json) {
    const parsed = (out: string) => {
      try {
        return JSON.parse(out.trim().split('\n').pop() ?? '') as unknown;
      } catch {
        return null;
      }
    };
    for (const r of results) if (r.stderr.trim()) process.stderr.write(`${s.bold(`── ${r.host}`)}\n${r.stderr}`);
    process.stdout.write(`${JSON.stringify({ hosts: results.map((r) => ({ host: r.host, exit_code: r.code, ...(r.unreachable ? { error: r.unreachable } : { result: parsed(r.stdout) }) })) })}\n`);
  } else {
    for (const r of results) {
      process.stdout.write(`${s.bold(`── ${r.host}`)}${r.code !== 0 ? s.red(` (exit ${r.code})`) : ''}\n`);
      if (r.unreachable) process.stdout.write(`${s.red('unreachable:')} ${r.unreachable}\n`);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
    }
  }
  return gravestExit(results.map((r) => r.code));
}
