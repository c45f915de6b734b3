import { cpSync, existsSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hooksYaml, startCli, STACK_FRAME, writeManifest } from './support/fixtures.js';
import { servedVersion, waitFor } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

/** Two operations on one app at once: the deploy lock lets exactly one through. */

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('conc');
  await sb.writeApp('A');
});
afterEach(() => sb.cleanup());

const lockFile = () => join(sb.appRoot, '.deploy_state', 'deploy.lock');

describe('two deploys at once', () => {
  it('exactly one wins; the other exits 3 naming the owner; the app serves the winner', async () => {
    // two manifests for the same app (same app root and port), from sources that serve A and B
    cpSync(sb.src, join(sb.dir, 'appB'), { recursive: true });
    writeFileSync(join(sb.dir, 'appB', 'VERSION'), 'B\n');
    const build = hooksYaml({ build: ['sleep 1'] });
    const text = writeManifest(sb, { extra: build });
    sb.writeManifest(text.replace('path: ./app', 'path: ./appB'), 'b.yml');

    const a = startCli(sb, ['deploy', '--json']);
    const b = startCli(sb, ['deploy', '--json', '-f', 'b.yml']);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    const results = [
      { who: 'A', pid: a.pid, r: ra },
      { who: 'B', pid: b.pid, r: rb },
    ];
    expect(results.map((x) => x.r.code).sort(), `${ra.stderr}\n---\n${rb.stderr}`).toEqual([0, 3]);
    const winner = results.find((x) => x.r.code === 0)!;
    const loser = results.find((x) => x.r.code === 3)!;

    // the loser names the owner: the winner's deploy id and pid
    const owner = winner.r.json!.deploy_id as string;
    expect(loser.r.stderr).toContain('another deploy holds the lock');
    expect(loser.r.stderr).toContain(owner);
    expect(loser.r.stderr).toContain(`(pid ${winner.pid})`);
    expect(loser.r.stderr).not.toMatch(STACK_FRAME);
    expect(loser.r.json).toMatchObject({ exit_code: 3, error: expect.stringContaining(owner) });

    // the winner's release is live and serving; the loser left no trace
    expect(winner.r.json).toMatchObject({ result: 'succeeded' });
    expect(readlinkSync(join(sb.appRoot, 'current'))).toBe(`releases/${winner.r.json!.release as string}`);
    expect(await servedVersion(sb.port)).toBe(winner.who);
    const history = readFileSync(join(sb.appRoot, '.deploy_state', 'history.jsonl'), 'utf8').trim().split('\n');
    expect(history).toHaveLength(1);
    expect(JSON.parse(history[0]!)).toMatchObject({ deploy_id: owner, result: 'succeeded' });
    expect(existsSync(lockFile())).toBe(false);
  });
});

describe('deployer unlock', () => {
  it('says "not locked" when the lock is free', async () => {
    writeManifest(sb);
    expect((await sb.run(['deploy'])).code).toBe(0);
    const r = await sb.run(['unlock']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('not locked');
    const j = await sb.run(['unlock', '--json']);
    expect(j.json).toEqual({ unlocked: false, reason: 'not locked' });
  });

  it('refuses a lock held by a live deploy (exit 3) and removes it with --force', async () => {
    const gate = join(sb.dir, 'gate');
    // the build hook holds the deploy (and its lock) until the test opens the gate, or 30 s pass
    writeManifest(sb, { extra: hooksYaml({ build: [`i=0; while [ ! -e ${gate} ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`] }) });
    const d = startCli(sb, ['deploy', '--json']);
    try {
      const owner = await waitFor(() => (existsSync(lockFile()) ? (JSON.parse(readFileSync(lockFile(), 'utf8')) as { deploy_id: string; pid: number }) : undefined), 'the deploy to take the lock');
      expect(owner.pid).toBe(d.pid);

      const refused = await sb.run(['unlock']);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toContain(owner.deploy_id);
      expect(refused.stderr).toContain(`pid ${d.pid}`);
      expect(existsSync(lockFile())).toBe(true);

      const forced = await sb.run(['unlock', '--force']);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toContain(`removed the live (forced) lock of deploy ${owner.deploy_id} (pid ${d.pid}`);
      expect(forced.stderr).toContain('that process may still be running');
      expect(existsSync(lockFile())).toBe(false);
    } finally {
      writeFileSync(gate, '');
      const r = await d.done;
      // the held deploy finishes normally and leaves no lock of its own behind
      expect(r.code, r.stderr).toBe(0);
    }
    expect(existsSync(lockFile())).toBe(false);
    expect(await servedVersion(sb.port)).toBe('A');
    rmSync(gate);
  });
});
