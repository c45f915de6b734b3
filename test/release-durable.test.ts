import { readFileSync, readlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readLog, run } from './support/fixtures.js';
import { Sandbox } from './support/sandbox.js';

/**
 * A release is flushed to disk (`sync -f` of its filesystem) before `current` moves to it: a
 * power cut right after the switch must not leave `current` pointing at empty files.
 */

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('durable');
  await sb.writeApp('v1');
  sb.manifest();
});
afterEach(() => sb.cleanup());

describe('release durability', () => {
  it('a deploy runs the real `sync -f` on the new release while `current` still points at the old one', async () => {
    // a `sync` first on PATH that notes its arguments and where `current` points, then runs the real one
    const spy = join(sb.dir, 'spy');
    const log = join(sb.dir, 'sync-calls.log');
    mkdirSync(spy);
    const realSync = run(['sh', '-c', 'command -v sync'], sb.dir).trim();
    const current = join(sb.appRoot, 'current');
    writeFileSync(join(spy, 'sync'), `#!/bin/sh\necho "$* current=$(readlink ${JSON.stringify(current)})" >> ${JSON.stringify(log)}\nexec ${JSON.stringify(realSync)} "$@"\n`, { mode: 0o755 });
    const env = { PATH: `${spy}:${process.env.PATH}` };

    const first = await sb.run(['deploy', '--json'], { env });
    expect(first.code, first.stderr).toBe(0);
    sb.setVersion('v2');
    const second = await sb.run(['deploy', '--json'], { env });
    expect(second.code, second.stderr).toBe(0);
    const [r1, r2] = [first.json!.release as string, second.json!.release as string];
    expect(readlinkSync(current)).toBe(`releases/${r2}`);
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      `-f -- ${join(sb.appRoot, 'releases', r1)} current=`,
      `-f -- ${join(sb.appRoot, 'releases', r2)} current=releases/${r1}`,
    ]);
    // the deploy log says so, inside the prepare step, before the activate step starts
    const events = readLog(second.json!.log as string);
    const flushed = events.findIndex((e) => e.type === 'log' && String(e.message).startsWith(`release ${r2} flushed to disk (sync -f)`));
    const activate = events.findIndex((e) => e.type === 'step_start' && String(e.title).startsWith('activate'));
    expect(flushed).toBeGreaterThan(0);
    expect(activate).toBeGreaterThan(flushed);
  });
});
