import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { appRootFor } from '../engine/build-context.js';
import { ManifestError, NotSupportedError } from '../errors.js';
import { HOST_MANIFEST_ENV, loadedFromHost, type HostManifest } from '../fleet/host-manifest.js';
import { LocalTransport } from '../hosts/local.js';
import type { Transport } from '../hosts/transport.js';
import { formatPath, loadManifest, type LoadedManifest } from '../manifest/load.js';
import { unsupportedFeatures } from '../manifest/support.js';
import { AppLayout } from '../release/layout.js';
import { Redactor } from '../state/redact.js';
import { guardOutput } from './output-guard.js';

export interface GlobalOptions {
  file: string;
  env?: string;
  json?: boolean;
  verbose?: boolean;
  /** --hosts / --roles: comma-separated */
  hosts?: string;
  roles?: string;
}

export async function loadFromOptions(o: GlobalOptions): Promise<LoadedManifest> {
  // a host of a fleet: the driving machine sent the manifest, validated, for this host
  const sent = process.env[HOST_MANIFEST_ENV];
  if (sent) return guarded(loadedFromHost(JSON.parse(await readFile(sent, 'utf8')) as HostManifest));
  return guarded(await loadManifest(o.file, o.env !== undefined ? { environment: o.env } : {}));
}

/** From here on, what this process prints hides the manifest's secrets (see output-guard.ts). */
export function guarded(loaded: LoadedManifest, notSecret: readonly string[] = []): LoadedManifest {
  guardOutput(Redactor.forManifest(loaded.manifest, loaded.secrets.filter((s) => !notSecret.includes(s))));
  return loaded;
}

/**
 * The app of the manifest on this machine: for the verbs that read or tidy its state (status,
 * history, releases, cleanup, promote, abort...). They need the app's name and root, not its
 * secrets: when the only problems are unset variables (a secret only the CI has, say at 3 a.m.
 * from a laptop), they are filled with a placeholder and named in a warning, unless the name or
 * the root itself uses one.
 */
export async function openApp(o: GlobalOptions): Promise<{ loaded: LoadedManifest; t: Transport; layout: AppLayout }> {
  const loaded = await loadFromOptions(o).catch(async (e: unknown) => {
    const unset = e instanceof ManifestError ? e.issues.map((i) => /^environment variable (\w+) is not set/.exec(i.message)?.[1]) : [];
    if (unset.length === 0 || unset.some((v) => v === undefined)) throw e;
    const names = [...new Set(unset as string[])];
    const placeholder = (v: string) => `unset-${v}`;
    const env = { ...process.env, ...Object.fromEntries(names.map((v) => [v, placeholder(v)])) };
    const lenient = await loadManifest(o.file, { ...(o.env !== undefined ? { environment: o.env } : {}), env }).catch(() => {
      throw e;
    });
    guarded(lenient, names.map(placeholder));
    const where = `${lenient.manifest.name} ${appRootFor(lenient)}`;
    if (names.some((v) => where.includes(placeholder(v)))) throw e;
    process.stderr.write(`warning: ${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} not set; not needed here (the app's name and root do not use ${names.length === 1 ? 'it' : 'them'})\n`);
    return lenient;
  });
  return { loaded, t: new LocalTransport(), layout: new AppLayout(appRootFor(loaded)) };
}

/** deploy (and validate) refuse a source that may not be fetched as configured (exit 2, at its key). */
export function refuseUnfetchable(loaded: LoadedManifest): void {
  if (loaded.fetchRefusals.length > 0) throw new ManifestError(loaded.fetchRefusals);
}

/** deploy and rollback refuse a manifest that names a feature this build cannot carry out. */
export function refuseUnsupported(loaded: LoadedManifest, strategy?: string): void {
  const issues = unsupportedFeatures(loaded.manifest, strategy as LoadedManifest['manifest']['deployment']['strategy'] | undefined);
  if (issues.length === 0) return;
  throw new NotSupportedError(
    issues.map((i) => ({ path: formatPath(i.path), message: i.message, file: basename(loaded.file), line: loaded.lineOf(i.path) })),
    { hint: 'this build deploys to this machine with the recreate strategy and the script, signal or no service manager' },
  );
}


export { appRootFor, deployerHome, newDeployId, type ContextInput } from '../engine/build-context.js';
export { buildContext } from '../wiring/context.js';
