import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servedVersion, waitFor } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

/**
 * kill -9 of the deployer at every step boundary (and inside the steps that do two things) of a
 * deploy and of a rollback. After each: `current` points at a complete release that serves,
 * doctor reports the interrupted operation, --repair fixes it, and the next operation succeeds.
 */

async function stepCount(sb: Sandbox, verb: 'deploy' | 'rollback'): Promise<number> {
  const r = await sb.run([verb, '--dry-run', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (r.json!.steps as unknown[]).length;
}

function crashPoints(steps: number, inner: string[]): string[] {
  const points: string[] = [];
  for (let i = 0; i < steps; i++) points.push(`step:${i}:before`, `step:${i}:after`);
  return [...points, ...inner];
}

function assertCompleteAndLive(sb: Sandbox): string {
  const target = readlinkSync(join(sb.appRoot, 'current'));
  const id = target.split('/').pop()!;
  expect(existsSync(join(sb.appRoot, 'releases', id, '.release_meta')), `current -> ${target} must be a complete release`).toBe(true);
  return id;
}

describe('kill -9 during a deploy', () => {
  let probe: Sandbox;
  let points: string[] = [];
  beforeAll(async () => {
    probe = new Sandbox('crashprobe');
    await probe.writeApp('v1');
    probe.manifest('hooks:\n  build: ["true"]\n  post_deploy: ["true"]\n');
    points = crashPoints(await stepCount(probe, 'deploy'), ['prepare:installed', 'activate:switched', 'commit']);
  });
  afterAll(() => probe.cleanup());

  it('covers every step of the plan', () => {
    expect(points.length).toBeGreaterThanOrEqual(2 * 12 + 3);
  });

  it.each(Array.from({ length: 27 }, (_, i) => i))('crash point #%i: live release intact, doctor repairs, next deploy succeeds', async (n) => {
    const point = points[n];
    expect(point, 'the plan has fewer steps than this test expects').toBeDefined();
    const sb = new Sandbox('crash');
    try {
      await sb.writeApp('v1');
      sb.manifest('hooks:\n  build: ["true"]\n  post_deploy: ["true"]\n');
      const first = await sb.run(['deploy', '--json']);
      expect(first.code, first.stderr).toBe(0);
      const v1 = first.json!.release as string;

      sb.setVersion('v2');
      const crashed = await sb.run(['deploy', '--json'], { env: { DEPLOYER_TEST_CRASH: point } });
      expect(crashed.signal, `${point}: ${crashed.stderr}`).toBe('SIGKILL');

      assertCompleteAndLive(sb);
      const served = await waitFor(() => servedVersion(sb.port), 'the app to answer', 5000);
      expect(['v1', 'v2']).toContain(served);

      const doc = await sb.run(['doctor', '--json']);
      expect(doc.code).toBe(1);
      const findings = doc.json!.findings as { severity: string; message: string }[];
      expect(findings.some((f) => f.message.startsWith('interrupted: deploy'))).toBe(true);
      expect(findings.some((f) => f.message.startsWith('stale deploy lock'))).toBe(true);

      const rep = await sb.run(['doctor', '--repair', '--json']);
      expect(rep.code, rep.stdout + rep.stderr).toBe(0);
      expect(existsSync(join(sb.appRoot, '.deploy_state', 'journal.json'))).toBe(false);
      expect(existsSync(join(sb.appRoot, '.deploy_state', 'deploy.lock'))).toBe(false);
      const after = assertCompleteAndLive(sb);
      // the journal commits right after the last step that decides success (the health check, step 7)
      const committed = point === 'commit' || /^step:(8|9|10|11):/.test(point!);
      if (!committed) {
        // undone: v1 is live again, serving, and the half-made release is gone
        expect(after).toBe(v1);
        await waitFor(async () => ((await servedVersion(sb.port)) === 'v1' ? true : undefined), 'v1 to serve');
        expect(readdirSync(join(sb.appRoot, 'releases'))).toEqual([v1]);
      } else {
        expect(after).not.toBe(v1);
        expect(await servedVersion(sb.port)).toBe('v2');
      }
      const again = await sb.run(['doctor', '--json']);
      expect(again.code, again.stdout).toBe(0);

      sb.setVersion('v3');
      const next = await sb.run(['deploy', '--json']);
      expect(next.code, next.stderr).toBe(0);
      expect(await servedVersion(sb.port)).toBe('v3');
      const hist = await sb.run(['history', '--json']);
      const entries = hist.json!.history as { result: string; note?: string }[];
      expect(entries.some((e) => e.note?.startsWith('recovered by doctor --repair'))).toBe(true);
    } finally {
      sb.cleanup();
    }
  });

  it('the next deploy recovers an interrupted one by itself (stale lock taken over with a warning)', async () => {
    const sb = new Sandbox('crash');
    try {
      await sb.writeApp('v1');
      sb.manifest();
      const first = await sb.run(['deploy', '--json']);
      sb.setVersion('v2');
      const crashed = await sb.run(['deploy'], { env: { DEPLOYER_TEST_CRASH: 'activate:switched' } });
      expect(crashed.signal).toBe('SIGKILL');
      sb.setVersion('v3');
      // a dry run says the interrupted deploy comes first, and plans from the state after it
      const dry = await sb.run(['deploy', '--dry-run', '--json']);
      expect(dry.code, dry.stderr).toBe(0);
      expect((dry.json!.notes as string[])[0]).toMatch(/^first, the interrupted deploy .* is undone$/);
      expect(dry.json!.previous).toBe(first.json!.release);
      const next = await sb.run(['deploy', '--json']);
      expect(next.code, next.stderr).toBe(0);
      expect(next.stderr).toContain('took over a stale deploy lock');
      expect(next.stderr).toContain('recovering it first');
      expect(next.json).toMatchObject({ previous: first.json!.release });
      expect(await servedVersion(sb.port)).toBe('v3');
    } finally {
      sb.cleanup();
    }
  });
});

describe('kill -9 after a failure was decided', () => {
  it('with auto_rollback off, a crash before on_failure is recorded, not undone: the failed release stays live', async () => {
    const sb = new Sandbox('crashfin');
    try {
      await sb.writeApp('v1');
      sb.manifest('deployment:\n  auto_rollback: false\n');
      expect((await sb.run(['deploy'])).code).toBe(0);
      sb.setVersion('v2');
      writeFileSync(join(sb.src, 'UNHEALTHY'), '');
      const crashed = await sb.run(['deploy', '--json'], { env: { DEPLOYER_TEST_CRASH: 'finished' } });
      expect(crashed.signal, crashed.stderr).toBe('SIGKILL');
      const live = assertCompleteAndLive(sb);
      const rep = await sb.run(['doctor', '--repair', '--json']);
      expect(rep.code, rep.stdout).toBe(0);
      expect(assertCompleteAndLive(sb)).toBe(live);
      const last = ((await sb.run(['history', '--json'])).json!.history as { result: string; release: string; note?: string }[]).at(-1)!;
      expect(last).toMatchObject({ result: 'failed', release: live });
      expect(last.note).toContain('its outcome was decided; recorded');
    } finally {
      sb.cleanup();
    }
  });
});

describe('kill -9 during a rollback', () => {
  let points: string[] = [];
  beforeAll(async () => {
    const probe = new Sandbox('crashprobe');
    try {
      await probe.writeApp('v1');
      probe.manifest();
      await probe.run(['deploy']);
      probe.setVersion('v2');
      await probe.run(['deploy']);
      points = crashPoints(await stepCount(probe, 'rollback'), ['activate:switched', 'commit']);
    } finally {
      probe.cleanup();
    }
  });

  it.each(Array.from({ length: 12 }, (_, i) => i))('crash point #%i: live release intact, doctor repairs, rollback then succeeds', async (n) => {
    const point = points[n];
    expect(point).toBeDefined();
    const sb = new Sandbox('crashrb');
    try {
      await sb.writeApp('v1');
      sb.manifest();
      const a = await sb.run(['deploy', '--json']);
      sb.setVersion('v2');
      const b = await sb.run(['deploy', '--json']);
      expect(b.code, b.stderr).toBe(0);

      const crashed = await sb.run(['rollback', '--json'], { env: { DEPLOYER_TEST_CRASH: point } });
      expect(crashed.signal, `${point}: ${crashed.stderr}`).toBe('SIGKILL');
      assertCompleteAndLive(sb);
      expect(['v1', 'v2']).toContain(await waitFor(() => servedVersion(sb.port), 'the app to answer', 5000));

      const rep = await sb.run(['doctor', '--repair', '--json']);
      expect(rep.code, rep.stdout + rep.stderr).toBe(0);
      const live = assertCompleteAndLive(sb);
      expect([a.json!.release, b.json!.release]).toContain(live);
      await waitFor(async () => ((await servedVersion(sb.port)) === (live === a.json!.release ? 'v1' : 'v2') ? true : undefined), 'the live release to serve');

      if (live === b.json!.release) {
        const again = await sb.run(['rollback', '--json']);
        expect(again.code, again.stderr).toBe(0);
      }
      expect(await servedVersion(sb.port)).toBe('v1');
      const d = await sb.run(['deploy', '--json']);
      expect(d.code, d.stderr).toBe(0);
    } finally {
      sb.cleanup();
    }
  });
});
