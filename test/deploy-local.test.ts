import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { servedVersion, waitFor } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('deploy');
  await sb.writeApp('v1');
  sb.manifest('deployment:\n  shared_dirs: [logs]\n');
});
afterEach(() => sb.cleanup());

const releaseIds = () => readdirSync(join(sb.appRoot, 'releases')).sort();
const current = () => readlinkSync(join(sb.appRoot, 'current'));

describe('recreate deploy on this machine', () => {
  it('deploys, serves, redeploys with unchanged files linked, and reports the result as JSON', async () => {
    const first = await sb.run(['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json).toMatchObject({ app: 'testapp', strategy: 'recreate', result: 'succeeded', rolled_back: false, previous: null });
    expect(first.json?.hosts).toEqual([{ host: 'local', release: first.json?.release, result: 'succeeded' }]);
    expect(await servedVersion(sb.port)).toBe('v1');
    const r1 = first.json!.release as string;
    expect(current()).toBe(`releases/${r1}`);
    const meta = JSON.parse(readFileSync(join(sb.appRoot, 'releases', r1, '.release_meta'), 'utf8'));
    expect(meta).toMatchObject({ release_id: r1, source_type: 'local', deploy_id: first.json!.deploy_id });
    expect(meta.checksum).toMatch(/^tree:[0-9a-f]{64}$/);
    // shared dir linked into the release
    expect(lstatSync(join(sb.appRoot, 'releases', r1, 'logs')).isSymbolicLink()).toBe(true);
    expect(statSync(join(sb.appRoot, 'shared', 'logs')).isDirectory()).toBe(true);

    sb.setVersion('v2');
    const second = await sb.run(['deploy', '--json']);
    expect(second.code, second.stderr).toBe(0);
    const r2 = second.json!.release as string;
    expect(second.json).toMatchObject({ previous: r1, result: 'succeeded' });
    expect(await servedVersion(sb.port)).toBe('v2');
    // server.cjs did not change: same inode as in the first release; VERSION did: a new file
    const ino = (id: string, f: string) => statSync(join(sb.appRoot, 'releases', id, f)).ino;
    expect(ino(r2, 'server.cjs')).toBe(ino(r1, 'server.cjs'));
    expect(ino(r2, 'VERSION')).not.toBe(ino(r1, 'VERSION'));
    expect(readFileSync(join(sb.appRoot, '.deploy_state', 'rollback_point'), 'utf8').trim()).toBe(r1);

    const history = await sb.run(['history', '--json']);
    expect((history.json!.history as { release: string; result: string }[]).map((h) => [h.release, h.result])).toEqual([
      [r1, 'succeeded'],
      [r2, 'succeeded'],
    ]);
  });

  it('rolls back to the rollback point, further back on a second rollback, forward again, and --to a release', async () => {
    const ids: string[] = [];
    for (const v of ['v1', 'v2', 'v3']) {
      sb.setVersion(v);
      const r = await sb.run(['deploy', '--json']);
      expect(r.code, r.stderr).toBe(0);
      ids.push(r.json!.release as string);
    }
    const back = await sb.run(['rollback', '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(back.json).toMatchObject({ operation: 'rollback', release: ids[1], previous: ids[2], result: 'succeeded' });
    expect(await servedVersion(sb.port)).toBe('v2');
    expect(readFileSync(join(sb.appRoot, '.deploy_state', 'pre_rollback_release'), 'utf8').trim()).toBe(ids[2]);

    const further = await sb.run(['rollback', '--json']);
    expect(further.json).toMatchObject({ release: ids[0] });
    expect(await servedVersion(sb.port)).toBe('v1');

    const fwd = await sb.run(['rollback', '--forward', '--json']);
    expect(fwd.code, fwd.stderr).toBe(0);
    expect(fwd.json).toMatchObject({ release: ids[1] });
    expect(await servedVersion(sb.port)).toBe('v2');

    const to = await sb.run(['rollback', '--to', ids[2]!, '--json']);
    expect(to.json).toMatchObject({ release: ids[2] });
    expect(await servedVersion(sb.port)).toBe('v3');

    const same = await sb.run(['rollback', '--to', ids[2]!]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('already live');
  });

  it('cleanup keeps the newest releases, the live one, the rollback point and protected ones', async () => {
    sb.manifest('deployment:\n  keep_releases: 2\n');
    const ids: string[] = [];
    for (const v of ['v1', 'v2', 'v3', 'v4']) {
      sb.setVersion(v);
      const r = await sb.run(['deploy', '--json']);
      expect(r.code, r.stderr).toBe(0);
      ids.push(r.json!.release as string);
    }
    // keep_releases: 2 -> after each deploy only the two newest remain
    expect(releaseIds()).toEqual([ids[2], ids[3]]);

    const p = await sb.run(['protect', ids[2]!]);
    expect(p.code, p.stderr).toBe(0);
    for (const v of ['v5', 'v6']) {
      sb.setVersion(v);
      const r = await sb.run(['deploy', '--json']);
      ids.push(r.json!.release as string);
    }
    expect(releaseIds()).toEqual([ids[2], ids[4], ids[5]]);
    // roll back to the protected one: it is live and protected, the newest two stay
    const rb = await sb.run(['rollback', '--to', ids[2]!, '--json']);
    expect(rb.code, rb.stderr).toBe(0);
    const c = await sb.run(['cleanup', '--keep', '1', '--json']);
    expect(c.code, c.stderr).toBe(0);
    // ids[5] is the newest; ids[2] live+protected; ids[4] is the rollback point? no: after --to ids[2], rollback point is the release before ids[2]
    expect(releaseIds()).toContain(ids[2]);
    expect(releaseIds()).toContain(ids[5]);
    const rel = await sb.run(['releases', '--json']);
    const rows = rel.json!.releases as { id: string; current: boolean; protected: boolean }[];
    expect(rows.find((r) => r.current)?.id).toBe(ids[2]);
    expect(rows.find((r) => r.id === ids[2])?.protected).toBe(true);
    const up = await sb.run(['unprotect', ids[2]!]);
    expect(up.code).toBe(0);
    expect(existsSync(join(sb.appRoot, 'releases', ids[2]!, '.protected'))).toBe(false);
  });

  it('status reports the live release, the rollback point and the lock', async () => {
    const before = await sb.run(['status', '--json']);
    expect(before.code).toBe(0);
    expect((before.json!.hosts as { current: unknown }[])[0]!.current).toBeNull();
    await sb.run(['deploy']);
    sb.setVersion('v2');
    const d = await sb.run(['deploy', '--json']);
    const st = await sb.run(['status', '--json']);
    const h = (st.json!.hosts as Record<string, unknown>[])[0]!;
    expect(h.current).toBe(d.json!.release);
    expect(h.rollback_point).toBe(d.json!.previous);
    expect(h.lock).toBeNull();
    expect(h.interrupted).toBeNull();
    expect((h.last_deploy as { result: string }).result).toBe('succeeded');
  });

  it('a failing health check rolls back to the previous release, which keeps serving (exit 1)', async () => {
    expect((await sb.run(['deploy'])).code).toBe(0);
    sb.setVersion('v2');
    writeFileSync(join(sb.src, 'UNHEALTHY'), '');
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ result: 'rolled_back', rolled_back: true });
    expect(r.stderr).toContain('HTTP 503');
    await waitFor(async () => ((await servedVersion(sb.port)) === 'v1' ? true : undefined), 'v1 to serve again');
    expect(current()).toBe(`releases/${r.json!.previous}`);
    // the failed release is removed, not left half-live
    expect(releaseIds()).toEqual([r.json!.previous]);
  });

  it('keep_failed_releases keeps the failed release as <id>.failed', async () => {
    sb.manifest('deployment:\n  keep_failed_releases: true\n');
    expect((await sb.run(['deploy'])).code).toBe(0);
    writeFileSync(join(sb.src, 'UNHEALTHY'), '');
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(releaseIds()).toContain(`${r.json!.release}.failed`);
  });

  it('with auto_rollback off a failing check leaves the new release live and exits 1', async () => {
    sb.manifest('deployment:\n  auto_rollback: false\n');
    expect((await sb.run(['deploy'])).code).toBe(0);
    sb.setVersion('v2');
    writeFileSync(join(sb.src, 'UNHEALTHY'), '');
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ result: 'failed', rolled_back: false });
    expect(current()).toBe(`releases/${r.json!.release}`);
    expect(r.stderr).toContain('auto_rollback is off');
  });

  it('when the restored release fails its check too, on_failure runs and the exit code is 4', async () => {
    sb.manifest('hooks:\n  on_failure: ["echo failed > $DEPLOY_APP_ROOT/on_failure_ran"]\n');
    expect((await sb.run(['deploy'])).code).toBe(0);
    // break the live release behind Deployer's back, then deploy a broken one
    writeFileSync(join(sb.appRoot, 'current', 'UNHEALTHY'), '');
    writeFileSync(join(sb.src, 'UNHEALTHY'), '');
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('manual intervention required');
    expect(existsSync(join(sb.appRoot, 'on_failure_ran'))).toBe(true);
  });

  it('a rollback whose check fails exits 4 after on_failure, and stays on the target', async () => {
    sb.manifest('hooks:\n  on_failure: ["touch $DEPLOY_APP_ROOT/on_failure_ran"]\n');
    const a = await sb.run(['deploy', '--json']);
    sb.setVersion('v2');
    expect((await sb.run(['deploy'])).code).toBe(0);
    writeFileSync(join(sb.appRoot, 'releases', a.json!.release as string, 'UNHEALTHY'), '');
    const r = await sb.run(['rollback', '--json']);
    expect(r.code).toBe(4);
    expect(r.json).toMatchObject({ operation: 'rollback', result: 'failed' });
    expect(existsSync(join(sb.appRoot, 'on_failure_ran'))).toBe(true);
    expect(current()).toBe(`releases/${a.json!.release}`);
  });
});
