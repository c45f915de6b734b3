import { join } from 'node:path';
import { SourceError } from '../../errors.js';
import { formatDuration } from '../../manifest/duration.js';
import { writeMeta } from '../../release/meta.js';
import { prepareRelease, type PreparedRelease } from '../../release/prepare.js';
import { linkShared } from '../../release/shared.js';
import type { FleetRole, RunContext } from '../context.js';
import type { Step } from '../../plan/steps.js';
import { readCurrent } from '../../state/records.js';
import { crashPoint } from '../crash.js';
import type { StepHandler, UndoInfo } from './types.js';

type S = Extract<Step, { kind: 'prepare_release' }>;

export const prepareHandler: StepHandler<S> = {
  async run(step, ctx) {
    const { layout, loaded, transport } = ctx;
    const m = loaded.manifest;
    const dir = layout.release(step.release);
    if (await transport.fs.stat(dir)) throw new SourceError(`release directory ${dir} already exists`);
    await transport.fs.mkdirp(layout.releases);
    await transport.fs.mkdirp(layout.shared);
    const started = ctx.clock.monotonic();
    // in a fleet the driving machine fetched and built the release and uploaded it beside the
    // app (unchanged files already hard-linked from the previous release by rsync): it moves in
    // whole, in one rename
    const upload = ctx.fleet?.upload;
    const prepared = upload ? await moveUploaded(upload, dir, ctx) : await prepareRelease({
      source: m.source,
      manifestDir: loaded.dir,
      releaseDir: dir,
      ...(step.previous ? { previousDir: layout.release(step.previous) } : {}),
      tmpDir: layout.tmp,
      gitCacheDir: join(ctx.home, 'cache', 'git'),
      appRoot: layout.root,
      sharedRoot: layout.shared,
      sharedDirs: m.deployment.shared_dirs,
      sharedFiles: m.deployment.shared_files,
      linkUnchanged: m.deployment.link_unchanged,
      onWarning: (message) => ctx.emit({ type: 'log', level: 'warn', message }),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    crashPoint('prepare:installed');
    const version = ctx.versionOverride ?? m.version ?? prepared.detectedVersion ?? step.release;
    ctx.data.prepared = prepared;
    ctx.data.version = version;
    await writeMeta(transport.fs, dir, ctx.redactor.redactValue({
      release_id: step.release,
      timestamp: ctx.clock.now().toISOString(),
      source: prepared.source,
      source_type: prepared.sourceType,
      version,
      deployed_by: await transport.user(),
      hostname: await transport.hostname(),
      git_commit: prepared.gitCommit,
      git_branch: prepared.gitBranch,
      checksum: prepared.checksum,
      deploy_id: ctx.deployId,
      files: prepared.install.files,
      bytes: prepared.install.copiedBytes + prepared.install.linkedBytes,
    }));
    // every file on disk before any pointer (current, a slot) can move to the release: after a
    // power cut it must never point at empty files
    const synced = ctx.clock.monotonic();
    const how = await transport.fs.syncTree(dir);
    ctx.emit({ type: 'log', level: 'debug', message: `release ${step.release} flushed to disk (${how}) in ${formatDuration(ctx.clock.monotonic() - synced)}` });
    const i = prepared.install;
    if (upload) return { status: 'done', detail: `${i.files} file${i.files === 1 ? '' : 's'} (${mb(i.copiedBytes)}) uploaded, moved in in ${formatDuration(ctx.clock.monotonic() - started)}; version ${version}` };
    return {
      status: 'done',
      detail: `${i.files} files, ${mb(i.copiedBytes)} copied, ${i.linkedFiles} unchanged files linked (${mb(i.linkedBytes)}) in ${formatDuration(ctx.clock.monotonic() - started)}; version ${version}`,
    };
  },

  async undo(step, ctx, info: UndoInfo) {
    const dir = ctx.layout.release(step.release);
    // never pull a live release away, whatever the journal says
    if ((await readCurrent(ctx.transport, ctx.layout)) === step.release) throw new Error(`release ${step.release} is live (current points at it): not removed`);
    if (info.liveChanged && ctx.loaded.manifest.deployment.keep_failed_releases && (await ctx.transport.fs.stat(dir))) {
      await ctx.transport.fs.remove(`${dir}.failed`);
      await ctx.transport.fs.rename(dir, `${dir}.failed`);
      ctx.emit({ type: 'log', level: 'info', message: `kept the failed release as ${step.release}.failed` });
      return;
    }
    await ctx.transport.fs.remove(dir);
  },
};

/** The uploaded tree becomes the release: one rename, then the shared links. */
async function moveUploaded(upload: NonNullable<FleetRole['upload']>, dir: string, ctx: RunContext): Promise<PreparedRelease> {
  const m = ctx.loaded.manifest;
  if (!(await ctx.transport.fs.stat(upload.dir))) throw new SourceError(`the uploaded release is missing (${upload.dir})`);
  await ctx.transport.fs.rename(upload.dir, dir);
  if (m.deployment.shared_dirs.length || m.deployment.shared_files.length) {
    const r = await linkShared(dir, ctx.layout.shared, m.deployment.shared_dirs, m.deployment.shared_files);
    for (const message of r.warnings) ctx.emit({ type: 'log', level: 'warn', message });
  }
  const s = upload.staged;
  return {
    source: s.source,
    sourceType: s.sourceType,
    gitCommit: s.gitCommit,
    gitBranch: s.gitBranch,
    detectedVersion: s.detectedVersion,
    checksum: s.checksum,
    install: { files: s.files, dirs: 0, symlinks: 0, copiedFiles: 0, copiedBytes: s.bytes, linkedFiles: 0, linkedBytes: 0, skipped: 0, checksum: s.checksum },
  };
}

function mb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} KB`;
}
