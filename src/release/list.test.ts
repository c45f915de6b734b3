import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTransport } from '../hosts/local.js';
import { AppLayout } from './layout.js';
import { listReleases, planCleanup, PROTECTED_FILE, type ReleaseInfo } from './list.js';
import { META_FILE } from './meta.js';

const rel = (n: number, extra: Partial<ReleaseInfo> = {}): ReleaseInfo => {
  const id = `20240101_0000${String(n).padStart(2, '0')}`;
  return { id, dir: `/app/releases/${id}${extra.failed ? '.failed' : ''}`, complete: true, protected: false, failed: false, meta: null, ...extra };
};
const ids = (xs: { id: string }[]) => xs.map((x) => x.id);
const kept = (plan: ReturnType<typeof planCleanup>) => plan.keep.map((k) => `${k.release.id}${k.release.failed ? '.failed' : ''}: ${k.why}`);

describe('planCleanup', () => {
  it('keeps the newest N complete releases and removes the rest', () => {
    const releases = [1, 2, 3, 4, 5, 6].map((n) => rel(n));
    const plan = planCleanup(releases, 3, new Map());
    expect(ids(plan.remove)).toEqual(['20240101_000001', '20240101_000002', '20240101_000003']);
    expect(kept(plan)).toEqual(['20240101_000004: one of the newest 3', '20240101_000005: one of the newest 3', '20240101_000006: one of the newest 3']);
  });

  it('keeps pinned releases with the reason, however old', () => {
    const releases = [1, 2, 3, 4].map((n) => rel(n));
    const pinned = new Map([
      ['20240101_000001', 'rollback point'],
      ['20240101_000004', 'live'],
    ]);
    const plan = planCleanup(releases, 1, pinned);
    expect(ids(plan.remove)).toEqual(['20240101_000002', '20240101_000003']);
    expect(kept(plan)).toEqual(['20240101_000001: rollback point', '20240101_000004: live']);
  });

  it('keeps protected releases', () => {
    const releases = [rel(1, { protected: true }), rel(2), rel(3)];
    const plan = planCleanup(releases, 1, new Map());
    expect(ids(plan.remove)).toEqual(['20240101_000002']);
    expect(kept(plan)).toEqual(['20240101_000001: protected', '20240101_000003: one of the newest 1']);
  });

  it('removes incomplete releases (unless pinned), and they do not take a place among the newest', () => {
    const releases = [rel(1), rel(2), rel(3, { complete: false }), rel(4, { complete: false })];
    const plan = planCleanup(releases, 2, new Map([['20240101_000004', 'in progress']]));
    expect(ids(plan.remove)).toEqual(['20240101_000003']);
    expect(kept(plan)).toEqual(['20240101_000001: one of the newest 2', '20240101_000002: one of the newest 2', '20240101_000004: in progress']);
  });

  it('keeps failed releases up to N, apart from the others, and never pins them', () => {
    const releases = [rel(1), rel(1, { failed: true }), rel(2, { failed: true }), rel(3, { failed: true }), rel(4)];
    // a failed copy of the live id is not protected by the pin on that id
    const plan = planCleanup(releases, 2, new Map([['20240101_000003', 'live']]));
    expect(plan.remove.map((r) => r.dir)).toEqual(['/app/releases/20240101_000001.failed']);
    expect(kept(plan)).toEqual([
      '20240101_000001: one of the newest 2',
      '20240101_000002.failed: one of the newest 2 failed',
      '20240101_000003.failed: one of the newest 2 failed',
      '20240101_000004: one of the newest 2',
    ]);
  });

  it('puts every release in exactly one list', () => {
    const releases = [rel(1, { protected: true }), rel(2, { complete: false }), rel(3, { failed: true }), rel(4), rel(5), rel(6)];
    const plan = planCleanup(releases, 1, new Map([['20240101_000004', 'live']]));
    expect(plan.keep.length + plan.remove.length).toBe(releases.length);
    expect(ids(plan.remove)).toEqual(['20240101_000002', '20240101_000005']);
  });
});

describe('listReleases', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'deployer-list-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists release directories oldest first, with completeness, protection and failure', async () => {
    const layout = new AppLayout(dir);
    const mk = (name: string, files: Record<string, string> = {}) => {
      mkdirSync(join(layout.releases, name), { recursive: true });
      for (const [f, text] of Object.entries(files)) writeFileSync(join(layout.releases, name, f), text);
    };
    const meta = JSON.stringify({ release_id: 'x', version: '1' });
    mk('20240101_000000_10', { [META_FILE]: meta });
    mk('20240101_000000_9', { [META_FILE]: meta, [PROTECTED_FILE]: '' });
    mk('20240101_000000', { [META_FILE]: 'not json' });
    mk('20240101_000000.failed', { [META_FILE]: meta });
    mk('not-a-release');
    mk('.20240101_000001.tmp');
    writeFileSync(join(layout.releases, '20240101_000002'), 'a file, not a dir');
    symlinkSync(join(layout.releases, '20240101_000000_9'), join(layout.releases, '20240101_000003'));

    const list = await listReleases(new LocalTransport(), layout);
    expect(list.map((r) => [r.id, r.failed, r.complete, r.protected])).toEqual([
      ['20240101_000000', false, false, false],
      ['20240101_000000', true, true, false],
      ['20240101_000000_9', false, true, true],
      ['20240101_000000_10', false, true, false],
    ]);
    expect(list[1]!.dir).toBe(join(layout.releases, '20240101_000000.failed'));
    expect(list[2]!.meta).toEqual({ release_id: 'x', version: '1' });
  });

  it('is empty when there is no releases directory', async () => {
    expect(await listReleases(new LocalTransport(), new AppLayout(join(dir, 'none')))).toEqual([]);
  });
});

describe('pruneLogs', () => {
  it('keeps the newest logs by their time-ordered names', async () => {
    const { pruneLogs } = await import('../engine/handlers/cleanup.js');
    const { LocalTransport } = await import('../hosts/local.js');
    const { AppLayout } = await import('./layout.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const root = fs.mkdtempSync(`${os.tmpdir()}/logs-`);
    try {
      const layout = new AppLayout(root);
      fs.mkdirSync(layout.logs, { recursive: true });
      const names = Array.from({ length: 7 }, (_, i) => `dep_2026010${i}T000000Z_abc.jsonl`);
      for (const n of [...names].reverse()) fs.writeFileSync(`${layout.logs}/${n}`, '{}\n');
      fs.writeFileSync(`${layout.logs}/notes.txt`, 'kept: not a log');
      expect(await pruneLogs(new LocalTransport(), layout, 3)).toBe(4);
      expect(fs.readdirSync(layout.logs).sort()).toEqual([...names.slice(4), 'notes.txt'].sort());
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
