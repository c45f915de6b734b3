// kill -9 of a blue-green and a canary deploy through a real nginx at their router steps (the step
// numbers read from the dry-run plan): nginx keeps serving whole versions (every answer 200, its
// file always one nginx accepts), `doctor --repair` puts nginx and `current` back in agreement,
// and the next deploy succeeds. One nginx and one app for the file, each case going on from the
// state the previous one left.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectServing, startNginxApp, type NginxApp } from './support/nginx-app.js';
import { crashThenRepair, type Case, type CrashOutcome } from './support/nginx-crash.js';
import { skipWithoutNginx } from './support/nginx-server.js';
import type { ManifestOptions } from './support/runtime-app.js';

const skip = skipWithoutNginx('test/deploy-nginx-crash.test.ts');

const blueGreen: ManifestOptions = { strategy: 'blue-green' };
const canary: ManifestOptions = { strategy: 'canary', canary: '    stages: [{weight: 30, duration: 300ms}]' };

const cases: Case[] = [
  { name: 'blue-green start_instances (after: the new pool declared)', manifest: blueGreen, kind: 'start_instances', at: 'after' },
  { name: 'blue-green switch_traffic (before)', manifest: blueGreen, kind: 'switch_traffic', at: 'before' },
  { name: 'blue-green switch_traffic (inside: nginx routed, current not yet moved)', manifest: blueGreen, kind: 'switch_traffic', at: 'switch:routed', serves: 'next' },
  { name: 'blue-green switch_traffic (after)', manifest: blueGreen, kind: 'switch_traffic', at: 'after', serves: 'next' },
  { name: 'canary set_weights (after: a stage of 30%)', manifest: canary, kind: 'set_weights', at: 'after', split: true },
  { name: 'canary stop_instances (before: the old pool about to stop)', manifest: canary, kind: 'stop_instances', at: 'before' },
];

describe.skipIf(skip)('kill -9 of a deploy through a real nginx at its router steps', { timeout: 120_000 }, () => {
  let n: NginxApp;
  const version = { n: 1 };
  const outcomes: CrashOutcome[] = [];

  beforeAll(async () => {
    n = await startNginxApp(blueGreen);
    const first = await n.app.deploy();
    expect(first.code, first.stderr).toBe(0);
    await expectServing(n.app, 'v1');
  }, 60_000);

  afterAll(async () => {
    console.log(`[deploy-nginx-crash] point, requests retried after a reload closed their keep-alive connection, version after repair: ${JSON.stringify(outcomes)}`);
    await n?.stop();
  });

  it.each(cases)('$name: nginx serves whole versions, doctor --repair makes nginx and current agree, the next deploy succeeds', async (c) => {
    outcomes.push(await crashThenRepair(n, c, version));
  });
});
