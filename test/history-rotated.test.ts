// `deployer history` lists and finds entries across history.jsonl and its rotated files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sandbox } from './support/sandbox.js';

let sb: Sandbox;
beforeEach(async () => {
  sb = new Sandbox('history');
  await sb.writeApp('v1');
  sb.manifest();
  const state = join(sb.appRoot, '.deploy_state');
  mkdirSync(state, { recursive: true });
  const lines = (ids: string[]) =>
    ids
      .map((id) => `${JSON.stringify({ deploy_id: id, operation: 'deploy', app: 'testapp', release: '20240101_000000', previous: null, strategy: 'recreate', result: 'succeeded', rolled_back: false, host: 'local', user: 'me', started: '2024-01-01T00:00:00.000Z', finished: '2024-01-01T00:00:05.000Z', duration_ms: 5000 })}\n`)
      .join('');
  writeFileSync(join(state, 'history.2.jsonl'), lines(['a1', 'a2']));
  writeFileSync(join(state, 'history.1.jsonl'), lines(['b1']));
  writeFileSync(join(state, 'history.jsonl'), lines(['c1']));
});
afterEach(() => sb.cleanup());

const ids = (json: Record<string, unknown> | undefined) => (json!.history as { deploy_id: string }[]).map((e) => e.deploy_id);

describe('deployer history over rotated files', () => {
  it('lists the newest entries across the files, oldest first', async () => {
    const all = await sb.run(['history', '--json']);
    expect(all.code, all.stderr).toBe(0);
    expect(ids(all.json)).toEqual(['a1', 'a2', 'b1', 'c1']);
    const last3 = await sb.run(['history', '-n', '3', '--json']);
    expect(ids(last3.json)).toEqual(['a2', 'b1', 'c1']);
  });

  it('finds one deploy in a rotated file', async () => {
    const one = await sb.run(['history', 'a1', '--json']);
    expect(one.code, one.stderr).toBe(0);
    expect(one.json!.entry).toMatchObject({ deploy_id: 'a1' });
    const none = await sb.run(['history', 'zz', '--json']);
    expect(none.code).toBe(2);
  });
});
