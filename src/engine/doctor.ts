import { join } from 'node:path';
import { isReleaseId, compareReleaseIds } from '../release/id.js';
import { listReleases } from '../release/list.js';
import { clearCanaryFiles, readCanaryStatus } from '../state/canary.js';
import { readJournal } from '../state/journal.js';
import { inspectLock } from '../state/lock.js';
import { HISTORY_BOUNDS, linesFromEnd, readHistory, rotateHistory } from '../state/history.js';
import { readCurrent, readLastDeploy, readPointer, writePointer } from '../state/records.js';
import type { RunContext } from './context.js';
import { checkRuntime } from './doctor-runtime.js';
import { describeJournal, recoverJournal } from './recovery.js';

export interface Finding {
  severity: 'info' | 'warn' | 'error';
  message: string;
  /** what --repair does about it */
  repair?: string;
  repaired?: boolean;
  /** the repair failed or was not attempted: why */
  note?: string;
}

type Fix = () => Promise<void>;

/**
 * Verifies one app's layout on a host (seed 000 §7.2 verify_deployment_state, extended): links,
 * lock, journal, pointers, leftovers; with `repair`, fixes what is safe, in an order where each
 * fix can rely on the ones before. The caller holds the deploy lock when repairing.
 */
export async function diagnose(ctx: RunContext, repair: boolean): Promise<Finding[]> {
  // when repairing, the caller holds the lock under ctx.deployId: that is not someone else's operation
  const { transport: t, layout } = ctx;
  const findings: Finding[] = [];
  const fixes: [Finding, Fix][] = [];
  const add = (f: Finding, fix?: Fix) => {
    findings.push(f);
    if (fix) fixes.push([f, fix]);
  };

  if (!(await t.fs.stat(layout.root))) {
    add({ severity: 'info', message: `${layout.root} does not exist: nothing deployed yet` });
    return findings;
  }
  const seen = await inspectLock(t, layout.lock);
  const lock = seen.state === 'held' && seen.owner.deploy_id === ctx.deployId ? ({ state: 'free' } as const) : seen;
  if (lock.state === 'held') add({ severity: 'info', message: `locked by ${lock.owner.command} ${lock.owner.deploy_id} (pid ${lock.owner.pid} on ${lock.owner.host}): an operation is running` });
  if (lock.state === 'stale') add({ severity: 'warn', message: `stale deploy lock: ${lock.reason}`, repair: 'taken over and removed' });

  const journal = await readJournal(t, layout.journal);
  if (journal === 'corrupt') {
    add({ severity: 'error', message: 'journal.json is unreadable', repair: 'moved aside to journal.json.corrupt-<time>' }, async () => {
      await t.fs.rename(layout.journal, `${layout.journal}.corrupt-${Date.now()}`);
    });
  } else if (journal && lock.state !== 'held') {
    const repair = journal.state === 'committed' ? 'record it as succeeded' : journal.state === 'finished' ? 'record its outcome' : 'undo its steps in reverse';
    add({ severity: 'error', message: `interrupted: ${describeJournal(journal)}`, repair }, async () => {
      const r = await recoverJournal({ ...ctx }, journal, 'doctor --repair');
      if (r.action === 'undo_failed') throw new Error('undoing failed; see the journal');
    });
  }

  // a canary's status and commands outlive its deploy only when that died without a journal to recover
  const canary = await readCanaryStatus(t, layout);
  if (canary && canary.phase !== 'ended' && lock.state !== 'held' && !(journal && journal !== 'corrupt' && journal.deploy_id === canary.deploy_id)) {
    add({ severity: 'warn', message: `stale canary status of deploy ${canary.deploy_id} (it is not running)`, repair: 'removed' }, () => clearCanaryFiles(t, layout));
  }

  for (const name of await t.fs.list(layout.root)) {
    if (/^\..*\.tmp-\d+-/.test(name)) add({ severity: 'warn', message: `leftover temporary file ${name}`, repair: 'removed' }, () => t.fs.remove(join(layout.root, name)));
  }
  for (const name of await t.fs.list(layout.state)) {
    if (/\.tmp-\d+-/.test(name) || name === 'deploy.lock.takeover') add({ severity: 'warn', message: `leftover temporary file .deploy_state/${name}`, repair: 'removed' }, () => t.fs.remove(join(layout.state, name)));
  }
  if ((await t.fs.list(layout.tmp)).length) add({ severity: 'warn', message: 'leftover scratch files in .deploy_state/tmp', repair: 'removed' }, () => t.fs.remove(layout.tmp));

  const inJournal = journal && journal !== 'corrupt' ? journal.plan.release : null;
  const releases = await listReleases(t, layout);
  for (const r of releases.filter((x) => !x.complete && !x.failed && x.id !== inJournal)) {
    add({ severity: 'warn', message: `release ${r.id} is incomplete (no .release_meta): left by an interrupted deploy`, repair: 'removed' }, () => t.fs.remove(r.dir));
  }
  const complete = releases.filter((r) => r.complete && !r.failed);
  if (!(await t.fs.stat(layout.releases))) add({ severity: 'error', message: 'releases/ is missing', repair: 'created' }, () => t.fs.mkdirp(layout.releases));
  if (!(await t.fs.stat(layout.shared))) add({ severity: 'warn', message: 'shared/ is missing', repair: 'created' }, () => t.fs.mkdirp(layout.shared));

  await checkCurrent(ctx, complete.map((r) => r.id), inJournal, add);
  await checkPointers(ctx, complete.map((r) => r.id), add);
  await checkShared(ctx, add);
  await checkRecords(ctx, add);
  if (ctx.instances) await checkRuntime(ctx, add);

  if (repair) {
    for (const [f, fix] of fixes) {
      try {
        await fix();
        f.repaired = true;
      } catch (e) {
        f.note = `repair failed: ${(e as Error).message}`;
      }
    }
  }
  return findings;
}

type Add = (f: Finding, fix?: Fix) => void;

async function checkCurrent(ctx: RunContext, complete: string[], inJournal: string | null, add: Add) {
  const { transport: t, layout } = ctx;
  const target = await t.fs.readlink(layout.current);
  const st = await t.fs.stat(layout.current);
  const id = await readCurrent(t, layout);
  // the release of an interrupted deploy was never proven: not one to point `current` at
  const candidates = complete.filter((r) => r !== inJournal);
  const good = async () => {
    const last = await readLastDeploy(t, layout);
    return last?.result === 'succeeded' && candidates.includes(last.release) ? last.release : candidates.at(-1);
  };
  const repoint = async () => {
    const to = await good();
    if (!to) throw new Error('no complete release to point at');
    await t.fs.symlinkAtomic(layout.currentTarget(to), layout.current);
  };
  if (st === null) {
    if (candidates.length) add({ severity: 'error', message: '`current` is missing although releases exist', repair: 'point it at the last successfully deployed release (the service is not restarted)' }, repoint);
    else add({ severity: 'info', message: 'no release is live yet' });
    return;
  }
  if (st.type !== 'symlink') return add({ severity: 'error', message: '`current` is not a symlink', note: 'left alone: inspect it by hand' });
  if (!id) return add({ severity: 'error', message: `\`current\` points at ${target}, which is not a release`, repair: 'point it at the last successfully deployed release' }, repoint);
  if (!complete.includes(id) && id !== inJournal)
    return add({ severity: 'error', message: `\`current\` points at ${id}, which is missing or incomplete`, repair: 'point it at the last successfully deployed release' }, repoint);
  add({ severity: 'info', message: `live release: ${id}` });
}

async function checkPointers(ctx: RunContext, complete: string[], add: Add) {
  const { transport: t, layout } = ctx;
  const current = await readCurrent(t, layout);
  for (const [file, name] of [
    [layout.rollbackPoint, 'rollback_point'],
    [layout.preRollbackRelease, 'pre_rollback_release'],
  ] as const) {
    const raw = (await t.fs.readText(file))?.trim();
    if (raw === undefined) continue;
    const id = await readPointer(t, file);
    if (id && complete.includes(id)) continue;
    const replacement = name === 'rollback_point' && current ? (complete.filter((r) => compareReleaseIds(r, current) < 0).at(-1) ?? null) : null;
    add(
      { severity: 'warn', message: `${name} names ${id ?? JSON.stringify(raw)}, which is ${id || !raw || !isReleaseId(raw) ? 'not an existing release' : 'missing'}`, repair: replacement ? `set to ${replacement}` : 'removed' },
      () => writePointer(t, file, replacement),
    );
  }
}

async function checkShared(ctx: RunContext, add: Add) {
  const { transport: t, layout, loaded } = ctx;
  const current = await readCurrent(t, layout);
  if (!current) return;
  const d = loaded.manifest.deployment;
  for (const [rel, isDir] of [...d.shared_dirs.map((x) => [x, true] as const), ...d.shared_files.map((x) => [x, false] as const)]) {
    const clean = rel.replace(/\/+$/, '');
    const link = join(layout.release(current), clean);
    const target = join(layout.shared, clean);
    const lst = await t.fs.stat(link);
    if (lst?.type !== 'symlink') {
      add({ severity: 'warn', message: `shared ${isDir ? 'dir' : 'file'} ${clean} is not linked in the live release`, note: 'the next deploy links it' });
      continue;
    }
    if (!(await t.fs.stat(target))) {
      if (isDir) add({ severity: 'warn', message: `shared dir ${clean} is missing from shared/`, repair: 'created empty' }, () => t.fs.mkdirp(target));
      else add({ severity: 'warn', message: `shared file ${clean} is missing from shared/`, note: 'restore it by hand' });
    }
  }
}

async function checkRecords(ctx: RunContext, add: Add) {
  const { transport: t, layout } = ctx;
  const size = (await t.fs.stat(layout.history))?.size ?? 0;
  if (size > HISTORY_BOUNDS.maxBytes) {
    // left by a version that did not rotate it: rotating is a rename, it is never read whole
    add({ severity: 'warn', message: `history.jsonl is ${(size / 1024 / 1024).toFixed(1)} MiB, past its bound of ${HISTORY_BOUNDS.maxBytes / 1024 / 1024} MiB`, repair: 'rotated to history.1.jsonl' }, () =>
      rotateHistory(t, layout),
    );
  } else if (size) {
    let torn = 0;
    for await (const line of linesFromEnd(t.fs, layout.history)) if (!parses(line)) torn++;
    if (torn) {
      add({ severity: 'warn', message: `history.jsonl has ${torn} unreadable line(s)`, repair: 'rewritten without them' }, async () => {
        const good: string[] = [];
        for await (const line of linesFromEnd(t.fs, layout.history)) if (parses(line)) good.push(line);
        await t.fs.writeAtomic(layout.history, good.reverse().map((l) => `${l}\n`).join(''));
      });
    }
  }
  const lastText = await t.fs.readText(layout.lastDeploy);
  if (lastText !== null && (await readLastDeploy(t, layout)) === null) {
    add({ severity: 'warn', message: 'last_deploy.json is unreadable', repair: 'rewritten from history' }, async () => {
      const last = (await readHistory(t, layout, 1)).at(-1);
      if (last) await t.fs.writeAtomic(layout.lastDeploy, `${JSON.stringify(last, null, 2)}\n`);
      else await t.fs.remove(layout.lastDeploy);
    });
  }
}

function parses(line: string): boolean {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
}
