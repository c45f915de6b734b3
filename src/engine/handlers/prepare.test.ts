import { mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localFs } from '../../hosts/local-fs.js';
import { LocalTransport } from '../../hosts/local.js';
import type { HostFs } from '../../hosts/transport.js';
import { parseManifest } from '../../manifest/load.js';
import { AppLayout } from '../../release/layout.js';
import { Redactor } from '../../state/redact.js';
import { systemClock } from '../../util/clock.js';
import type { RunContext } from '../context.js';
import { activateHandler } from './activate.js';
import { prepareHandler } from './prepare.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'prepare-undo-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function ctx(): RunContext {
  const loaded = parseManifest('name: app\n', { env: {} });
  return {
    transport: new LocalTransport(),
    hostName: 'local',
    layout: new AppLayout(root),
    loaded,
    service: { kind: 'none', restart: async () => {} },
    deployId: 'd',
    strategy: 'recreate',
    clock: systemClock,
    emit: () => {},
    redactor: new Redactor([]),
    home: root,
    data: {},
  };
}

describe('prepare_release undo', () => {
  it('removes the release it made', async () => {
    mkdirSync(join(root, 'releases', '20240101_000000'), { recursive: true });
    await prepareHandler.undo!({ kind: 'prepare_release', release: '20240101_000000', previous: null, source: 'x' }, ctx(), { liveChanged: false });
    expect(existsSync(join(root, 'releases', '20240101_000000'))).toBe(false);
  });

  it('refuses to remove the release `current` points at, whatever the journal says', async () => {
    mkdirSync(join(root, 'releases', '20240101_000000'), { recursive: true });
    symlinkSync('releases/20240101_000000', join(root, 'current'));
    await expect(
      prepareHandler.undo!({ kind: 'prepare_release', release: '20240101_000000', previous: null, source: 'x' }, ctx(), { liveChanged: true }),
    ).rejects.toThrow('is live');
    expect(existsSync(join(root, 'releases', '20240101_000000'))).toBe(true);
  });
});

/** The local transport, recording each file operation (name and first path) in order. */
class RecordingTransport extends LocalTransport {
  readonly calls: string[] = [];
  override readonly fs: HostFs = new Proxy(localFs, {
    get: (target, key: keyof HostFs) => {
      const f = target[key] as (...a: unknown[]) => unknown;
      return (...a: unknown[]) => {
        this.calls.push(`${key} ${String(a[0]).replace(root, '')}`);
        return f.apply(target, a);
      };
    },
  });
}

describe('prepare_release makes the release durable before anything points at it', () => {
  it('flushes the release to disk after its last file (.release_meta) and before `current` moves', async () => {
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src', 'server.js'), 'x');
    const transport = new RecordingTransport();
    const c = { ...ctx(), transport };
    c.loaded = { ...c.loaded, dir: root, manifest: { ...c.loaded.manifest, source: { ...c.loaded.manifest.source, path: './src' } } };
    const release = '20240101_000000';
    await prepareHandler.run({ kind: 'prepare_release', release, previous: null, source: 'x' }, c);
    await activateHandler.run({ kind: 'activate', release, previous: null, manager: 'none', pointers: {}, pointersBefore: {} }, c);
    expect(readlinkSync(join(root, 'current'))).toBe(`releases/${release}`);
    const at = (call: string) => transport.calls.indexOf(call);
    const meta = transport.calls.findIndex((x) => x.startsWith(`writeAtomic /releases/${release}/.release_meta`));
    const sync = at(`syncTree /releases/${release}`);
    expect(meta, transport.calls.join('\n')).toBeGreaterThanOrEqual(0);
    expect(sync, transport.calls.join('\n')).toBeGreaterThan(meta);
    expect(at('symlinkAtomic releases/' + release)).toBeGreaterThan(sync);
  });
});
