import { constants as fsc, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { HookEvent, HooksConfig } from '../manifest/schema/hooks.js';

export type HookCommand = { kind: 'inline'; command: string } | { kind: 'script'; path: string; display: string };

export interface ResolvedHook {
  commands: HookCommand[];
  warnings: string[];
}

/** Where a release may carry a script for an event, in the seed's order (000 §6.1). */
export function scriptCandidates(event: HookEvent, hooksDir?: string): string[] {
  return [
    `deploy/hooks/${event}`,
    `deploy/hooks/${event}.sh`,
    `.deploy/${event}`,
    ...(hooksDir ? [`${hooksDir.replace(/\/+$/, '')}/${event}`, `${hooksDir.replace(/\/+$/, '')}/${event}.sh`] : []),
  ];
}

/**
 * The manifest's inline commands for the event, then the first executable script found in the
 * release. `primary`: this host runs the `run_once` commands (the first host of a fleet).
 */
export async function resolveHook(event: HookEvent, config: HooksConfig, releaseDir: string | null, primary = true): Promise<ResolvedHook> {
  const commands: HookCommand[] = (config[event] ?? []).filter((c) => primary || !c.run_once).map((c) => ({ kind: 'inline', command: c.command }));
  const warnings: string[] = [];
  if (releaseDir) {
    for (const rel of scriptCandidates(event, config.dir)) {
      const path = join(releaseDir, rel);
      // the schema keeps hooks.dir relative; a symlink in the release must not lead out of it either
      const real = await fsp.realpath(path).catch(() => null);
      const root = await fsp.realpath(releaseDir).catch(() => releaseDir);
      if (real && !real.startsWith(`${root}/`)) {
        warnings.push(`hook script ${rel} resolves outside the release (${real}); ignored`);
        continue;
      }
      const st = await fsp.stat(path).catch(() => null);
      if (!st?.isFile()) continue;
      const executable = await fsp.access(path, fsc.X_OK).then(
        () => true,
        () => false,
      );
      if (!executable) {
        warnings.push(`hook script ${rel} was ignored because it is not executable (chmod +x ${rel})`);
        continue;
      }
      commands.push({ kind: 'script', path, display: rel });
      break;
    }
  }
  return { commands, warnings };
}
