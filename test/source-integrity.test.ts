import { readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { git, writeManifest } from './support/fixtures.js';
import { servedVersion } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

/**
 * Code fetched over plain http:// or git:// is refused unless pinned, by the verbs that fetch it
 * (deploy, and validate); the verbs that work with what the host has (rollback, status...) are not
 * held up by it. A pinned git commit id cannot be shadowed by a branch of that name.
 */

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('integrity');
  await sb.writeApp('v1');
});
afterEach(() => sb.cleanup());

describe('plain-transport sources', () => {
  it('validate, deploy --dry-run, deploy and a fleet deploy all refuse an unpinned http:// archive with exit 2, naming the key', async () => {
    // nothing listens there: the refusal comes before any fetch or connection
    const source = 'source: { type: archive, url: "http://127.0.0.1:9/app.tar.gz" }';
    const want = /source\.url: plain http:\/\/ is neither private nor authenticated.*set `source\.insecure: true`/;
    writeManifest(sb, { source });
    for (const args of [['validate'], ['deploy', '--dry-run'], ['deploy', '--yes']]) {
      const r = await sb.run(args);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(want);
    }
    writeManifest(sb, { source, extra: 'hosts: ["ssh://deploy@127.0.0.1:9", "ssh://deploy@127.0.0.2:9"]\n' });
    const fleet = await sb.run(['deploy', '--yes']);
    expect(fleet.code, fleet.stderr).toBe(2);
    expect(fleet.stderr).toMatch(want);

    writeManifest(sb, { source: 'source: { type: archive, url: "http://127.0.0.1:9/app.tar.gz", insecure: true }' });
    expect((await sb.run(['validate'])).code).toBe(0);
  });

  it('rollback and status still work with an unpinned http:// source in the manifest (nothing is fetched)', async () => {
    writeManifest(sb);
    expect((await sb.run(['deploy', '--yes'])).code).toBe(0);
    await sb.writeApp('v2');
    expect((await sb.run(['deploy', '--yes'])).code).toBe(0);
    expect(await servedVersion(sb.port)).toBe('v2');
    writeManifest(sb, { source: 'source: { type: archive, url: "http://127.0.0.1:9/app.tar.gz" }' });
    const status = await sb.run(['status']);
    expect(status.code, status.stderr).toBe(0);
    const rollback = await sb.run(['rollback']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stderr).not.toMatch(/source\.url/);
    expect(await servedVersion(sb.port)).toBe('v1');
  });

  it('a full commit id deploys that commit, even when a branch of the same name points elsewhere', async () => {
    git(sb.src, 'init', '-q', '-b', 'main');
    sb.setVersion('pinned');
    git(sb.src, 'add', '-A');
    git(sb.src, 'commit', '-qm', 'pinned');
    const pinned = git(sb.src, 'rev-parse', 'HEAD');
    sb.setVersion('swapped');
    git(sb.src, 'commit', '-qam', 'swapped');
    // what a party on the path could serve: a branch named as the pinned id, on other code
    git(sb.src, 'branch', pinned, 'HEAD');
    writeManifest(sb, { source: `source: { type: git, url: "file://${sb.src}", branch: "${pinned}" }` });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(await servedVersion(sb.port)).toBe('pinned');
    const release = readlinkSync(join(sb.appRoot, 'current'));
    expect(JSON.parse(readFileSync(join(sb.appRoot, release, '.release_meta'), 'utf8'))).toMatchObject({ git_commit: pinned, git_branch: null });
  });
});
