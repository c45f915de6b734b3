import type { HostTarget } from '../hosts/targets.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { CheckTemplate } from '../manifest/checks.js';
import type { Manifest } from '../manifest/schema/index.js';

/** The manifest as one host of a fleet runs it, already validated: it is never parsed again there. */
export interface HostManifest {
  manifest: Manifest;
  checks: CheckTemplate[];
  smokeTests: CheckTemplate[];
  file: string;
  environment?: string;
  /** the values `${VAR}` took from the driving machine's environment: hidden on the host too */
  secrets?: string[];
}

/** That host only (as `local`), with its own app_root. */
export function hostManifest(loaded: LoadedManifest, t: HostTarget): HostManifest {
  const m = loaded.manifest;
  return {
    manifest: { ...m, hosts: ['local'], deployment: { ...m.deployment, ...(t.appRoot ? { app_root: t.appRoot } : {}) } },
    checks: loaded.checks,
    smokeTests: loaded.smokeTests,
    file: loaded.file,
    ...(loaded.environment !== undefined ? { environment: loaded.environment } : {}),
    secrets: loaded.secrets,
  };
}

export function loadedFromHost(m: HostManifest): LoadedManifest {
  return {
    manifest: m.manifest,
    checks: m.checks,
    smokeTests: m.smokeTests,
    file: m.file,
    dir: '/',
    ...(m.environment !== undefined ? { environment: m.environment } : {}),
    environments: [],
    warnings: [],
    fetchRefusals: [],
    secrets: m.secrets ?? [],
    lineOf: () => undefined,
  };
}

/** On a host, the verbs read the manifest the driving machine sent (a JSON file) instead of deploy.yml. */
export const HOST_MANIFEST_ENV = 'DEPLOYER_HOST_MANIFEST';
