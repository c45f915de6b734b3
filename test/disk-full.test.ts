// A full disk (ENOSPC) at each phase of a deploy, on a small tmpfs of the test's own: the live
// release keeps serving, the error says the disk is full and where, nothing is half-written, no
// lock is left, and once space is back `doctor --repair` finishes and a deploy succeeds.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from './support/cli.js';
import { RuntimeApp, type ManifestOptions } from './support/runtime-app.js';
import { canMountTmpfs, fillDisk, mountTmpfs, unmountTmpfs, warnIfNoTmpfs } from './support/tmpfs.js';

warnIfNoTmpfs('disk-full');

let app: RuntimeApp;
let disk: string;
let mounted = false;
const filler = () => join(disk, 'filler');

beforeAll(async () => {
  if (!canMountTmpfs) return;
  app = await RuntimeApp.create('v1', 1);
  disk = join(app.dir, 'disk');
  mkdirSync(disk);
  // fails the suite in CI when it cannot mount (not root, no tmpfs)
  mountTmpfs(disk, 4096);
  mounted = true;
});
afterAll(async () => {
  if (!app) return;
  // the runtime's processes keep files open on the disk: stop them (by pid) before unmounting it
  const { leftovers } = await app.stopRuntime();
  if (mounted) unmountTmpfs(disk);
  rmSync(app.dir, { recursive: true, force: true });
  expect(leftovers).toEqual([]);
});

const appRoot = () => join(disk, 'app');
function manifest(o: ManifestOptions = {}): void {
  const text = app.manifestText(o).replace('deployment:\n', `deployment:\n  app_root: ${appRoot()}\n`);
  writeFileSync(join(app.dir, 'deploy.yml'), text);
}

/** Fills the disk, leaving about `leave` bytes. */
const fill = (leave = 0) => fillDisk(disk, filler(), leave);
/**
 * A shell command that fills the disk to the last byte (for a hook or a check), once: a check
 * runs it again and again, and dd truncates its file first, which would free the space again.
 */
const fillCommand = () => `test -e ${filler()} || dd if=/dev/zero of=${filler()} bs=4096 2>/dev/null; true`;

const current = () => readlinkSync(join(appRoot(), 'current'));
const stateFiles = () => readdirSync(join(appRoot(), '.deploy_state'));

async function expectDiskFullAndOldServing(liveBefore: string, version = 'v1'): Promise<CliResult> {
  const r = await app.run(['deploy'], 120_000);
  expect(r.code, r.stderr).toBe(1);
  // the error itself (not only a warning) says the disk is full, and where
  const error = r.stderr.split('\n').find((l) => l.startsWith('error:')) ?? '';
  expect(error, r.stderr).toMatch(/the disk is full \(ENOSPC\).*\/disk\/app\//);
  expect((await app.answer())?.version).toBe(version);
  expect(current()).toBe(liveBefore);
  expect(stateFiles()).not.toContain('deploy.lock');
  expect(stateFiles().filter((f) => f.includes('.tmp-'))).toEqual([]);
  return r;
}

async function spaceBackThenRepairAndDeploy(version: string): Promise<void> {
  rmSync(filler(), { force: true });
  const doctor = await app.run(['doctor', '--repair'], 120_000);
  expect(doctor.code, doctor.stderr + doctor.stdout).toBe(0);
  app.setVersion(version);
  manifest();
  const ok = await app.deploy();
  expect(ok.code, ok.stderr).toBe(0);
  await app.waitServing(version);
}

describe.skipIf(!canMountTmpfs)('disk full during a deploy', () => {
  let live = '';
  it('deploys v1 onto the small disk', async () => {
    manifest();
    const r = await app.deploy();
    expect(r.code, r.stderr).toBe(0);
    await app.waitServing('v1');
    live = current();
  });

  it('before the lock can be written: exit 1 naming it, no temp file left beside it', async () => {
    fill(0);
    const r = await expectDiskFullAndOldServing(live);
    expect(r.stderr).toContain(`error: the disk is full (ENOSPC): no space left to write ${join(appRoot(), '.deploy_state', 'deploy.lock')}`);
    rmSync(filler(), { force: true });
  });

  it('during prepare (the release copy): exit 1, v1 keeps serving', async () => {
    app.setVersion('v2');
    // a new 512 kB file to copy, and room for the lock, the journal and the log but not for it
    writeFileSync(join(app.src, 'big.bin'), randomBytes(512 * 1024));
    fill(128 * 1024);
    const r = await expectDiskFullAndOldServing(live);
    // the copy itself fails (a short write is not taken for a whole file), naming the file
    expect(r.stderr).toMatch(/error: deploy of \S+ failed at "prepare release .*the disk is full \(ENOSPC\): no space left to write \S+\/releases\/\S+\/big\.bin/);
    expect(readdirSync(join(appRoot(), 'releases')), r.stderr).toHaveLength(1);
    await spaceBackThenRepairAndDeploy('v2');
    live = current();
  });

  it('during activate (the disk fills just before it): exit 1, v2 keeps serving', async () => {
    app.setVersion('v3');
    manifest({ extra: `hooks:\n  pre_activate: [${JSON.stringify(fillCommand())}]\n` });
    await expectDiskFullAndOldServing(live, 'v2');
    await spaceBackThenRepairAndDeploy('v3');
    live = current();
  });

  it('during undo (a failing check fills the disk): exit 1, v3 keeps serving', async () => {
    app.setVersion('v4');
    const text = app.manifestText().replace('deployment:\n', `deployment:\n  app_root: ${appRoot()}\n`)
      .replace(/health_checks: \[/, `health_checks: [{ type: command, command: ${JSON.stringify(`${fillCommand()}; exit 1`)}, timeout: 1s, interval: 100ms }, `);
    writeFileSync(join(app.dir, 'deploy.yml'), text);
    const r = await expectDiskFullAndOldServing(live, 'v3');
    // undone on the full disk, though the journal could not follow
    expect(r.stderr).toMatch(/could not write the journal: the disk is full/);
    expect(r.stderr).toMatch(/undone start \S+ in pool/);
    expect(r.stderr).toMatch(/undone prepare release/);
    await spaceBackThenRepairAndDeploy('v4');
    live = current();
  });

  it('while recording the history: exit 1 naming the file, the new release serves, doctor --repair records it', async () => {
    app.setVersion('v5');
    manifest({ extra: `hooks:\n  post_deploy: [${JSON.stringify(fillCommand())}]\n` });
    const r = await app.run(['deploy'], 120_000);
      expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`error: the disk is full (ENOSPC): no space left to write ${join(appRoot(), '.deploy_state')}`);
    expect(stateFiles()).not.toContain('deploy.lock');
    expect(stateFiles().filter((f) => f.includes('.tmp-'))).toEqual([]);
    expect((await app.answer())?.version).toBe('v5');
    const v5 = basename(current());
    // the journal stays, so the outcome is recorded once there is room again
    expect(existsSync(join(appRoot(), '.deploy_state', 'journal.json'))).toBe(true);
    rmSync(filler(), { force: true });
    const doctor = await app.run(['doctor', '--repair'], 120_000);
    expect(doctor.code, doctor.stderr + doctor.stdout).toBe(0);
    const history = await app.run(['history', '--json']);
    const entries = history.json!.history as { release: string; result: string; note?: string }[];
    expect(entries.at(-1)).toMatchObject({ release: v5, result: 'succeeded', note: expect.stringMatching(/recovered by doctor --repair/) });
    expect(existsSync(join(appRoot(), '.deploy_state', 'journal.json'))).toBe(false);
    await spaceBackThenRepairAndDeploy('v6');
  });
});
