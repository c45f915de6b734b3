import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { StagedRelease } from '../engine/context.js';
import type { Emit } from '../engine/events.js';
import { LocalTransport } from '../hosts/local.js';
import { hookEnv } from '../hooks/run.js';
import { runHookCommands } from '../hooks/run.js';
import type { LoadedManifest } from '../manifest/load.js';
import { prepareRelease } from '../release/prepare.js';
import { privateDir } from '../util/private-files.js';

/** how long a staged tree is kept after a newer one, for a concurrent deploy still uploading it */
const STAGE_KEEP_MS = 60 * 60_000;

export interface Staged {
  /** the release tree on this machine, ready to upload */
  dir: string;
  staged: StagedRelease;
}

/**
 * Fetches the source once on this machine (any source type) and runs `hooks.build_local` in
 * it, so every host gets the same tree. The previous staged tree of the app stays as the base
 * unchanged files are hard-linked from, and is replaced by this one.
 */
export async function stageRelease(loaded: LoadedManifest, home: string, release: string, deployId: string, emit: Emit, signal?: AbortSignal): Promise<Staged> {
  const m = loaded.manifest;
  const root = join(home, 'stage', m.name);
  await privateDir(home);
  await fsp.mkdir(root, { recursive: true });
  const previous = (await fsp.readdir(root)).filter((d) => /^\d/.test(d)).sort().pop();
  const dir = join(root, release);
  await fsp.rm(dir, { recursive: true, force: true });
  const prepared = await prepareRelease({
    source: m.source,
    manifestDir: loaded.dir,
    releaseDir: dir,
    ...(previous ? { previousDir: join(root, previous) } : {}),
    tmpDir: join(root, '.tmp'),
    gitCacheDir: join(home, 'cache', 'git'),
    appRoot: root,
    sharedRoot: join(root, '.shared'),
    sharedDirs: [],
    sharedFiles: [],
    linkUnchanged: true,
    onWarning: (message) => emit({ type: 'log', level: 'warn', message }),
    ...(signal ? { signal } : {}),
  });
  const build = m.hooks.build_local ?? [];
  if (build.length) {
    const env = hookEnv({
      event: 'build',
      appRoot: root,
      releaseDir: dir,
      releaseId: release,
      strategy: m.deployment.strategy,
      host: 'local',
      deployId,
      timestamp: new Date().toISOString(),
      environment: m.environment,
    });
    await runHookCommands(
      'build',
      build.map((command) => ({ kind: 'inline' as const, command })),
      {
        transport: new LocalTransport(),
        cwd: dir,
        env,
        timeoutMs: m.hooks.timeout,
        onLine: (line, stream) => emit({ type: 'log', level: stream === 'stderr' ? 'info' : 'debug', message: line, source: 'hook build_local' }),
        ...(signal ? { signal } : {}),
      },
    );
  }
  // the tree just staged is the base of the next one; older ones go, unless recent: another
  // deploy of the app from this machine (another environment) may be uploading it right now
  const now = Date.now();
  for (const d of await fsp.readdir(root)) {
    if (d === release || !/^\d/.test(d)) continue;
    const st = await fsp.stat(join(root, d)).catch(() => null);
    if (st && now - st.mtimeMs > STAGE_KEEP_MS) await fsp.rm(join(root, d), { recursive: true, force: true });
  }
  return {
    dir,
    staged: {
      source: prepared.source,
      sourceType: prepared.sourceType,
      gitCommit: prepared.gitCommit,
      gitBranch: prepared.gitBranch,
      detectedVersion: prepared.detectedVersion,
      checksum: prepared.checksum,
      files: prepared.install.files,
      bytes: prepared.install.copiedBytes + prepared.install.linkedBytes,
    },
  };
}
