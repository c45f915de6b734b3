import { mkdirSync, mkdtempSync, rmSync, symlinkSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../../hosts/local.js';
import { parseManifest } from '../../manifest/load.js';
import { AppLayout } from '../../release/layout.js';
import { Redactor } from '../../state/redact.js';
import { systemClock } from '../../util/clock.js';
import type { RunContext } from '../context.js';
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
