import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { DeployerError, ExitCode, FleetFailed, HostUnreachable, UsageError, errorMessage, gravestExit } from '../errors.js';
import type { RunEvent } from '../engine/events.js';
import { SshHost } from '../hosts/ssh.js';
import type { SshSettings } from '../hosts/ssh-args.js';
import type { HostTarget } from '../hosts/targets.js';
import type { LoadedManifest } from '../manifest/load.js';
import { nextReleaseId } from '../release/id.js';
import type { HistoryEntry } from '../state/records.js';
import type { Clock } from '../util/clock.js';
import { describeFailure, failedMembers, go, member, runGates, settle, stopAll, type Member } from './gate-loop.js';
import { agentBundle, connectHosts } from './install.js';
import { AgentLink, type Final } from './link.js';
import { hostManifest } from './host-manifest.js';
import { fleetPolicy, limiter } from './policy.js';
import type { AgentOp, PlanSummary, StartMessage } from './protocol.js';
import { stageRelease, type Staged } from './stage.js';
import { uploadTree, type UploadResult } from './upload.js';

export type HostResult = 'succeeded' | 'failed' | 'rolled_back' | 'not_changed' | 'unreachable';

export interface HostOutcome {
  host: string;
  result: HostResult;
  /** the release live on the host at the end, when known */
  release: string | null;
  error?: string;
  upload?: { method: string; ms: number };
  entry?: HistoryEntry;
}

export interface FleetReport {
  deployId: string;
  app: string;
  operation: 'deploy' | 'rollback';
  strategy: string;
  release: string | null;
  result: 'succeeded' | 'failed' | 'rolled_back';
  rolledBack: boolean;
  hosts: HostOutcome[];
  exitCode: ExitCode;
  error?: string;
  /** a dry run's plan per host; `router`: per step, what the host's router would do (null: nothing) */
  plans?: { host: string; plan: unknown; notes: string[]; router: (string[] | null)[] }[];
}

export interface FleetInput {
  loaded: LoadedManifest;
  targets: HostTarget[];
  op: { command: 'deploy'; strategy: LoadedManifest['manifest']['deployment']['strategy']; versionOverride?: string } | { command: 'rollback'; to?: string; forward?: boolean };
  deployId: string;
  dryRun?: boolean;
  home: string;
  version: string;
  ssh: SshSettings;
  clock: Clock;
  /** host: null for the fleet's own lines */
  emit: (host: string | null, e: RunEvent) => void;
  signal?: AbortSignal;
}

const HOST_END_MS = 30 * 60_000;

/**
 * A deploy or rollback on every selected host over SSH: connect and check each (node, the
 * agent), take every host's lock, plan on each, upload the release once staged here, then walk
 * the gates (src/fleet/gate-loop.ts) so the strategy's all-or-none or wave rules hold.
 */
export async function runFleet(i: FleetInput): Promise<FleetReport> {
  const m = i.loaded.manifest;
  if (i.targets.some((t) => t.local)) throw new UsageError('hosts: `local` cannot be mixed with remote hosts; reach this machine over ssh (say `localhost`) to deploy it with them');
  const say = (message: string, level: 'info' | 'warn' = 'info') => i.emit(null, { type: 'log', level, message });
  const limit = limiter(i.ssh.config.parallel);
  const hosts = i.targets.map((t) => new SshHost(t, i.ssh));
  const strategy = i.op.command === 'deploy' ? i.op.strategy : 'rollback';
  const base = { deployId: i.deployId, app: m.name, operation: i.op.command, strategy } as const;
  const untouched = (exitCode: ExitCode, why: string, unreachable = new Map<string, string>()) =>
    finish(base, null, hosts.map((h): HostOutcome => (unreachable.has(h.name) ? { host: h.name, result: 'unreachable', release: null, error: unreachable.get(h.name)! } : { host: h.name, result: 'not_changed', release: null })), exitCode, `${why}; nothing was changed on any host`);
  const interrupted = () => `interrupted (${String(i.signal?.reason ?? 'aborted')})`;

  // 1. connect and check every host (its node, its releases), installing the agent where missing
  const bundle = await agentBundle(i.home, i.version);
  say(`connecting to ${hosts.length} host${hosts.length === 1 ? '' : 's'} (${i.ssh.config.parallel} at a time)`);
  const { facts, unreachable } = await connectHosts(hosts, i.ssh.config.node, bundle, limit, (h) => h.target.appRoot ?? m.deployment.app_root ?? `~/.deployer/apps/${m.name}`);
  if (unreachable.size) return untouched(ExitCode.failed, [...unreachable.values()].join('; '), unreachable);
  if (i.signal?.aborted) return untouched(ExitCode.failed, interrupted());

  // 2. a release id that no host has, staged here once while the hosts lock and plan
  const stageRoot = join(i.home, 'stage', m.name);
  const lastStaged = await fsp.readdir(stageRoot).then((d) => d.filter((x) => /^\d/.test(x)), () => [] as string[]);
  const taken = new Set([...lastStaged, ...[...facts.values()].flatMap((f) => f.releases.map((r) => r.replace(/\.failed$/, '')))]);
  const release = i.op.command === 'deploy' ? nextReleaseId(i.clock.now(), (id) => taken.has(id)) : null;
  const stageAbort = new AbortController();
  const onAbort = () => stageAbort.abort(i.signal?.reason);
  i.signal?.addEventListener('abort', onAbort, { once: true });
  const staging: Promise<Staged> | null = release && !i.dryRun ? stageRelease(i.loaded, i.home, release, i.deployId, (e) => i.emit(null, e), stageAbort.signal) : null;
  staging?.catch(() => undefined);

  try {
    // 3. start the agents: each takes its host's lock, then plans
    const op: AgentOp = i.op.command === 'deploy' ? { ...i.op, release: release! } : i.op;
    const members: Member[] = hosts.map((h, idx) => {
      const start: StartMessage = { type: 'start', op, deployId: i.deployId, hostName: h.name, primary: idx === 0, ...(i.dryRun ? { dryRun: true } : {}), ...hostManifest(i.loaded, h.target) };
      const child = h.spawn([i.ssh.config.node, `${facts.get(h.name)!.agentDir}/agent.js`]);
      return member(h.name, new AgentLink(h.name, child, (e) => i.emit(h.name, e), start));
    });
    if (i.dryRun) return await dryRun(members, base);

    const uploads = new Map<string, UploadResult>();
    const uploadErrors = new Map<string, DeployerError>();
    let cause: { message: string; exitCode: ExitCode } | null = null;
    const stopEveryone = (why: string) => {
      say(why, 'warn');
      stopAll(members, why);
    };
    const stopOnFailure = (mm: Member) => {
      if (mm.final!.kind !== 'done' && !mm.stoppedByFleet) stopEveryone(`${describeFailure(mm)}; stopping every other host before it changes anything`);
    };
    const ok = () => failedMembers(members).length === 0 && uploadErrors.size === 0 && !cause;
    const checkInterrupt = () => {
      if (i.signal?.aborted && !cause) {
        cause = { message: interrupted(), exitCode: ExitCode.failed };
        stopEveryone(`${interrupted()}: stopping every host`);
      }
    };

    await settle(members, stopOnFailure);
    checkInterrupt();
    if (ok()) {
      say(`all ${members.length} locks held`);
      for (const mm of members) go(mm);
      await settle(members, stopOnFailure);
      checkInterrupt();
    }
    // every host planned: a rollback goes to the same release everywhere
    if (ok() && i.op.command === 'rollback') {
      const targets = new Set(members.map((mm) => mm.gate?.plan?.release));
      if (targets.size > 1) {
        cause = { message: `the hosts would roll back to different releases (${members.map((mm) => `${mm.name}: ${mm.gate?.plan?.release}`).join(', ')}); give --to RELEASE`, exitCode: ExitCode.usage };
        stopEveryone(cause.message);
      }
    }
    // 4. upload the staged release to every host, then let each install it
    if (ok()) {
      let staged: Staged | null = null;
      if (staging) {
        try {
          staged = await staging;
        } catch (e) {
          if (!(e instanceof DeployerError) && !i.signal?.aborted) throw e;
          cause = { message: i.signal?.aborted ? interrupted() : errorMessage(e), exitCode: e instanceof DeployerError ? e.exitCode : ExitCode.failed };
          stopEveryone(`${cause.message}; stopping every host before it changes anything`);
        }
      }
      if (staged) {
        say(`uploading ${release} to ${members.length} host${members.length === 1 ? '' : 's'}`);
        await Promise.all(
          members.map((mm, idx) =>
            limit(async () => {
              const g = mm.gate!;
              const plan = g.plan as PlanSummary;
              try {
                uploads.set(mm.name, await uploadTree(hosts[idx]!, staged.dir, g.incoming!, plan.previous ? `${g.appRoot}/releases/${plan.previous}` : null, facts.get(mm.name)!.rsync, i.signal));
              } catch (e) {
                if (!(e instanceof DeployerError)) throw e;
                uploadErrors.set(mm.name, e);
              }
            }),
          ),
        );
        checkInterrupt();
        if (uploadErrors.size && !cause) stopEveryone(`upload failed: ${[...uploadErrors.values()].map((e) => e.message).join('; ')}; stopping every host before it changes anything`);
      }
      if (ok()) for (const mm of members) go(mm, staged?.staged);
    }
    // 5. the strategy's switch, across the fleet
    if (ok()) await runGates(members, fleetPolicy(m, i.op.command, strategy, members.length), { say, ...(i.signal ? { signal: i.signal } : {}) });
    await Promise.all(members.map((mm) => mm.link.end(HOST_END_MS).then((f) => (mm.final = f))));

    const outcomes = members.map((mm) => {
      const o = outcomeOf(mm, uploads);
      const up = uploadErrors.get(mm.name);
      return up ? { ...o, result: up instanceof HostUnreachable ? ('unreachable' as const) : ('failed' as const), error: up.message } : o;
    });
    const failed = failedMembers(members);
    const causes = cause ? [cause.message] : [...[...uploadErrors.values()].map((e) => e.message), ...failed.filter((f) => !f.stoppedByFleet).map(describeFailure)];
    const exitCode = cause && failed.every((f) => f.stoppedByFleet) ? cause.exitCode : failed.length ? worstExit(failed) : uploadErrors.size ? ExitCode.failed : ExitCode.ok;
    return finish(base, release, outcomes, exitCode, causes.length ? causes.join('; ') : undefined);
  } finally {
    i.signal?.removeEventListener('abort', onAbort);
    // staging a release nobody will deploy stops; the CLI waits for it to let go of its files
    stageAbort.abort('the deploy ended');
    await staging?.catch(() => undefined);
  }
}

async function dryRun(members: Member[], base: Pick<FleetReport, 'deployId' | 'app' | 'operation' | 'strategy'>): Promise<FleetReport> {
  const plans = new Map<string, { plan: unknown; notes: string[]; router: (string[] | null)[] }>();
  await Promise.all(
    members.map(async (mm) => {
      const a = await mm.link.next();
      if (a.kind === 'planned') plans.set(mm.name, { plan: a.plan, notes: a.notes, router: a.router });
      else if (a.kind !== 'gate') mm.final = a;
    }),
  );
  const failed = failedMembers(members);
  const release = (plans.values().next().value?.plan as { release?: string } | undefined)?.release ?? null;
  const report = finish(base, release, members.map((mm) => outcomeOf(mm, new Map())), failed.length ? worstExit(failed) : ExitCode.ok, failed.length ? failed.map(describeFailure).join('; ') : undefined);
  report.plans = members.filter((mm) => plans.has(mm.name)).map((mm) => ({ host: mm.name, ...plans.get(mm.name)! }));
  return report;
}

function outcomeOf(mm: Member, uploads: Map<string, UploadResult>): HostOutcome {
  const f: Final | null = mm.final;
  const up = uploads.get(mm.name);
  const upload = up ? { upload: { method: up.method, ms: Math.round(up.ms) } } : {};
  if (!f) return { host: mm.name, result: 'failed', release: null, error: 'no outcome', ...upload };
  if (f.kind === 'done') return { host: mm.name, result: 'succeeded', release: f.live, entry: f.entry, ...upload };
  if (f.kind === 'lost') return { host: mm.name, result: 'unreachable', release: null, error: f.error.message, ...upload };
  const e = f.entry;
  // stopped because of another host, with what served before still live: nothing changed here
  const untouched = mm.stoppedByFleet && !e?.rolled_back && (f.live ?? null) === (e?.previous ?? null);
  const result: HostResult = !e || untouched || f.error.name === 'FleetStopped' || f.error.name === 'LockHeldError' ? 'not_changed' : e.rolled_back ? 'rolled_back' : 'failed';
  return { host: mm.name, result, release: f.live ?? null, error: f.error.message, ...(e ? { entry: e } : {}), ...upload };
}

/** The gravest exit code among the failed hosts (errors.ts gravestExit); a failure at least. */
function worstExit(failed: Member[]): ExitCode {
  return (gravestExit(failed.map((f) => (f.final!.kind === 'done' ? 0 : f.final!.error.exitCode))) || ExitCode.failed) as ExitCode;
}

function finish(base: Pick<FleetReport, 'deployId' | 'app' | 'operation' | 'strategy'>, release: string | null, hosts: HostOutcome[], exitCode: ExitCode, error?: string): FleetReport {
  const ok = exitCode === ExitCode.ok;
  const anyRolledBack = hosts.some((h) => h.result === 'rolled_back');
  const anySucceeded = hosts.some((h) => h.result === 'succeeded');
  const result = ok ? 'succeeded' : anyRolledBack && !anySucceeded ? 'rolled_back' : 'failed';
  const firstRelease = hosts.find((h) => h.entry)?.entry?.release ?? release;
  return { ...base, release: firstRelease, result, rolledBack: anyRolledBack, hosts, exitCode, ...(error ? { error } : {}) };
}

/** Throws the report's failure as one error with its exit code. */
export function throwIfFailed(r: FleetReport): void {
  if (r.exitCode === ExitCode.ok) return;
  const lines = r.hosts.filter((h) => h.result !== 'succeeded').map((h) => `${h.host}: ${h.result.replace('_', ' ')}`);
  throw Object.assign(new FleetFailed(r.exitCode, `${r.operation} ${r.result === 'rolled_back' ? 'failed and was rolled back' : 'failed'}: ${r.error ?? 'see the hosts above'}`, { hint: lines.join(', ') }), { fleetReport: r });
}
