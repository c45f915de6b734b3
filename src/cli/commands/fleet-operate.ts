import { setMaxListeners } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFleet, throwIfFailed, type FleetInput, type FleetReport } from '../../fleet/drive.js';
import type { SshSettings } from '../../hosts/ssh-args.js';
import type { HostTarget } from '../../hosts/targets.js';
import type { LoadedManifest } from '../../manifest/load.js';
import { sshSchema } from '../../manifest/schema/hosts.js';
import { systemClock } from '../../util/clock.js';
import { privateDir } from '../../util/private-files.js';
import { deployerHome, newDeployId, type GlobalOptions } from '../context.js';
import { markJsonPrinted } from '../json-printed.js';
import { FleetRenderer } from '../render/fleet.js';
import type { Plan } from '../../plan/steps.js';
import { output, progress } from './common.js';

declare const __DEPLOYER_VERSION__: string;
const VERSION = typeof __DEPLOYER_VERSION__ === 'string' ? __DEPLOYER_VERSION__ : 'dev';

/**
 * Where the ControlMaster sockets live: $DEPLOYER_HOME/cm, or a short private directory under
 * the temp dir when that path is too long for a unix socket (ssh adds a 40-byte hash and more).
 */
export async function controlDir(home: string): Promise<string> {
  let dir = join(home, 'cm');
  if (dir.length > 50) dir = join(tmpdir(), `deployer-cm-${process.getuid?.() ?? 0}`);
  else await privateDir(home);
  await privateDir(dir);
  return dir;
}

export function sshSettingsFor(loaded: LoadedManifest, dir: string): SshSettings {
  return { config: loaded.manifest.ssh ?? sshSchema.parse({}), controlDir: dir };
}

/** deploy/rollback across remote hosts: run the fleet driver, render, print --json, exit with the gravest code. */
export async function operateFleet(o: GlobalOptions, loaded: LoadedManifest, targets: HostTarget[], op: FleetInput['op'], dryRun: boolean): Promise<void> {
  const out = output(o);
  const home = deployerHome();
  const render = new FleetRenderer(targets.map((t) => t.name), Boolean(o.verbose));
  const started = systemClock.monotonic();
  const ac = new AbortController();
  // every host's upload and link listens to it
  setMaxListeners(0, ac.signal);
  const onSignal = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\n${sig} again: stopping now; each host's journal lets \`deployer doctor --repair\` finish undoing\n`);
      process.exit(130);
    }
    ac.abort(sig);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let report: FleetReport;
  try {
    report = await runFleet({
      loaded,
      targets,
      op,
      deployId: newDeployId(),
      ...(dryRun ? { dryRun: true } : {}),
      home,
      version: VERSION,
      ssh: sshSettingsFor(loaded, await controlDir(home)),
      clock: systemClock,
      emit: render.handle,
      signal: ac.signal,
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const ms = systemClock.monotonic() - started;
  if (dryRun) {
    // each host's plan in full, as a one-host dry run prints it
    const printer = progress(o);
    for (const p of report.plans ?? []) {
      process.stderr.write(`── ${p.host}\n`);
      for (const n of p.notes) render.handle(p.host, { type: 'log', level: 'warn', message: n });
      printer.printPlan(p.plan as Plan, p.router);
    }
    if (out.isJson) out.json({ dry_run: true, deploy_id: report.deployId, app: report.app, release: report.release, strategy: report.strategy, hosts: report.plans });
    try {
      throwIfFailed(report);
    } catch (e) {
      if (out.isJson) markJsonPrinted(e as object);
      throw e;
    }
    return;
  }
  render.summary(report, ms);
  if (out.isJson) out.json(fleetJson(report, ms));
  try {
    throwIfFailed(report);
  } catch (e) {
    if (out.isJson) markJsonPrinted(e as object);
    throw e;
  }
}

/** DESIGN §6's --json result, one entry a host. */
function fleetJson(r: FleetReport, ms: number) {
  return {
    deploy_id: r.deployId,
    operation: r.operation,
    app: r.app,
    release: r.release,
    strategy: r.strategy,
    result: r.result,
    rolled_back: r.rolledBack,
    hosts: r.hosts.map((h) => ({ host: h.host, release: h.release, result: h.result, ...(h.error ? { error: h.error } : {}), ...(h.upload ? { upload: h.upload } : {}), ...(h.entry ? { duration_ms: h.entry.duration_ms } : {}) })),
    duration_ms: Math.round(ms),
    ...(r.error ? { error: r.error } : {}),
  };
}
