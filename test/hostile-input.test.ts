import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, type CliResult } from './support/cli.js';
import { snapshotTree, STACK_FRAME } from './support/fixtures.js';
import { servedVersion } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

/**
 * Bad input gives one clear error, a documented exit code (2), and changes nothing: the app
 * deployed before each case is byte-identical afterwards (releases, current, state, no lock).
 */

let sb: Sandbox;
let good: string;
let before: Record<string, string>;
const releases: string[] = [];
/** the app writes its own output there; everything else must stay byte-identical */
const snapshot = () => snapshotTree(sb.appRoot, ['shared/app.log']);

beforeAll(async () => {
  sb = new Sandbox('hostile');
  await sb.writeApp('v1');
  good = sb.manifest();
  for (const v of ['v1', 'v2']) {
    sb.setVersion(v);
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    releases.push(r.json!.release as string);
  }
  before = snapshot();
  expect(Object.keys(before)).toContain('.deploy_state/history.jsonl');
});
afterAll(() => sb.cleanup());

/** Nothing changed since the good deploys, and the app still serves them. */
async function expectUnchanged(): Promise<void> {
  expect(snapshot()).toEqual(before);
  expect(existsSync(join(sb.appRoot, '.deploy_state', 'deploy.lock'))).toBe(false);
  expect(await servedVersion(sb.port)).toBe('v2');
}

/** Exactly one `error:` message, no stack trace, no internal error. */
function expectOneError(r: CliResult, code = 2): void {
  const label = `exit ${r.code}\n${r.stderr}`;
  expect(r.code, label).toBe(code);
  expect(r.stderr.split('\n').filter((l) => l.startsWith('error:')), label).toHaveLength(1);
  expect(r.stderr, label).not.toMatch(STACK_FRAME);
  expect(r.stderr, label).not.toContain('internal error');
}

/** --json: the error is one JSON object on the last (and only) line of stdout. */
function expectJsonError(r: CliResult, code = 2): Record<string, unknown> {
  expectOneError(r, code);
  const lines = r.stdout.trim().split('\n');
  expect(lines, r.stdout).toHaveLength(1);
  const j = JSON.parse(lines[0]!) as Record<string, unknown>;
  expect(j).toMatchObject({ exit_code: code, error: expect.any(String) });
  return j;
}

const lineOfText = (text: string, marker: string) => text.slice(0, text.indexOf(marker)).split('\n').length;

interface Case {
  name: string;
  text?: () => string | Buffer;
  args?: string[];
  /** every one must appear in the error (a function: computed from the good manifest) */
  says: (string | RegExp | (() => string))[];
}

const goodLines = () => good.split('\n');
const cutAt = (marker: string, extra = 0) => () => good.slice(0, good.indexOf(marker) + extra);
const replaceIn = (from: string, to: string) => () => {
  expect(good).toContain(from);
  return good.replace(from, to);
};

const cases: Case[] = [
  // invalid YAML
  { name: 'an unclosed flow sequence', text: () => `${good}hooks:\n  build: [npm ci\n`, says: [/bad\.yml:\d+: invalid YAML: /] },
  { name: 'inconsistent indentation', text: () => 'name: testapp\nsource:\n  type: local\n path: ./app\n', says: ['bad.yml:4: invalid YAML: All mapping items must start at the same column'] },
  { name: 'a tab as indentation', text: () => 'name: testapp\nsource:\n\ttype: local\n', says: ['bad.yml:3: invalid YAML: Tabs are not allowed as indentation'] },
  { name: 'a duplicate key', text: () => `${good}name: other\n`, says: [() => `bad.yml:${goodLines().length}: invalid YAML: Map keys must be unique`] },
  { name: 'an unterminated string', text: () => 'name: "testapp\nsource: { type: local }\n', says: [/bad\.yml:\d+: invalid YAML: Missing closing "quote/] },
  { name: 'nesting 20000 levels deep', text: () => `name: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`, says: [/invalid YAML/] },
  { name: 'binary garbage', text: () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), says: ['bad.yml'] },
  // truncated
  { name: 'truncated inside a flow map', text: cutAt('path: ./app', 3), says: [/bad\.yml:\d+: invalid YAML: Flow map .* must .* end with a \}/] },
  { name: 'truncated before restart_command', text: cutAt('  restart_command'), says: [() => `bad.yml:${lineOfText(good, '  manager: script')}: service.restart_command: is required with \`manager: script\``] },
  { name: 'truncated inside an environment key', text: cutAt('PORT:', 2), says: [() => `bad.yml:${lineOfText(good, 'PORT:')}: environment: expected a map of keys, got "PO"`] },
  // wrong types
  { name: 'a list for name', text: replaceIn('name: testapp', 'name: [a, b]'), says: ['bad.yml:1: name: expected a string, got a list'] },
  { name: 'a string for keep_releases', text: () => `${good}deployment:\n  keep_releases: "five"\n`, says: [() => `bad.yml:${goodLines().length + 1}: deployment.keep_releases: expected a number, got "five"`] },
  { name: 'a number for a hook', text: () => `${good}hooks:\n  build: 42\n`, says: [() => `bad.yml:${goodLines().length + 1}: hooks.build: expected a string or a list or a map of keys, got 42`] },
  {
    name: 'a list for environment',
    text: () => good.replace(/environment:\n {2}PORT: "\d+"\n/, 'environment: [PORT]\n'),
    says: [() => `bad.yml:${lineOfText(good, 'environment:')}: environment: expected a map of keys, got a list`],
  },
  // unknown keys
  { name: 'a misspelt key', text: () => `${good}deployment:\n  keep_relases: 3\n`, says: [() => `bad.yml:${goodLines().length + 1}: deployment.keep_relases: unknown key "keep_relases" (did you mean "keep_releases"?)`] },
  { name: 'an unknown top-level key', text: () => `sorce: { type: local }\n${good}`, says: ['bad.yml:1: sorce: unknown key "sorce" (did you mean "source"?)'] },
  // huge numbers
  { name: 'a huge keep_releases', text: () => `${good}deployment:\n  keep_releases: 1e23\n`, says: [/deployment\.keep_releases: must be at most 1000/] },
  { name: 'a huge port', text: () => good.replace(/base_port: \d+/, 'base_port: 99999999999999999999'), says: [/bad\.yml:5: service\.base_port: must be at most 65535/] },
  { name: 'a huge hook timeout', text: () => `${good}hooks:\n  timeout: 99999999999999\n`, says: [/hooks\.timeout: duration .* is too long/] },
  // size and shape
  { name: 'a 2 MB manifest', text: () => good + `# ${'x'.repeat(998)}\n`.repeat(2 * 1024), says: ['bad.yml: the file is', 'a manifest may be at most 1048576'] },
  {
    name: 'an alias bomb',
    text: () =>
      ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefg'[i]}`).join(', ')}]`), 'name: testapp', ''].join('\n'),
    says: ['invalid YAML: Excessive alias count'],
  },
  { name: 'an empty file', text: () => '', says: ['bad.yml: the manifest must be a map of keys', 'got an empty document'] },
  { name: 'only a comment', text: () => '# nothing here\n', says: ['got an empty document'] },
  { name: 'a list at the root', text: () => '- name: testapp\n- source: {}\n', says: ['got a list'] },
  { name: 'a variable that is not set', text: () => good.replace('name: testapp', 'name: ${DEPLOYER_TEST_UNSET_VARIABLE}'), says: ['bad.yml:1: name: environment variable DEPLOYER_TEST_UNSET_VARIABLE is not set'] },
  { name: 'a missing file', args: ['-f', 'no-such-manifest.yml'], says: ['manifest no-such-manifest.yml not found'] },
  {
    name: '-e with an environment the manifest does not define',
    text: () => `${good}environments:\n  staging: { deployment: { keep_releases: 3 } }\n`,
    args: ['-f', 'bad.yml', '-e', 'nosuchenv'],
    says: ['no environment "nosuchenv" in bad.yml (it defines: staging)'],
  },
];

describe('bad manifests: exit 2, one clear error, nothing changed', () => {
  it.each(cases)('$name', async (c) => {
    const file = join(sb.dir, 'bad.yml');
    rmSync(file, { force: true });
    if (c.text) writeFileSync(file, c.text());
    const args = c.args ?? ['-f', 'bad.yml'];
    const [validate, deploy, json] = await Promise.all([sb.run(['validate', ...args]), sb.run(['deploy', ...args]), sb.run(['deploy', '--json', ...args])]);
    const says = c.says.map((s) => (typeof s === 'function' ? s() : s));
    expect(says.length).toBeGreaterThan(0);
    for (const r of [validate, deploy]) {
      expectOneError(r);
      expect(r.stdout).toBe('');
      for (const s of says) expect(r.stderr).toMatch(typeof s === 'string' ? new RegExp(escape(s)) : s);
    }
    const j = expectJsonError(json);
    for (const s of says) expect(j.error).toMatch(typeof s === 'string' ? new RegExp(escape(s.replace(/^bad\.yml(:\d+)?: /, ''))) : s);
    await expectUnchanged();
  });

  it('a manifest cut at any point is either valid or refused with one error, never a crash', async () => {
    const file = join(sb.dir, 'cut.yml');
    const points = Array.from({ length: Math.ceil(good.length / 5) }, (_, i) => i * 5);
    let refused = 0;
    for (let i = 0; i < points.length; i += 4) {
      const batch = points.slice(i, i + 4).map(async (n) => {
        const f = `${file}.${n}`;
        writeFileSync(f, good.slice(0, n));
        const r = await sb.run(['validate', '-f', f]);
        rmSync(f);
        return { n, r };
      });
      for (const { n, r } of await Promise.all(batch)) {
        expect([0, 2], `cut at ${n}: ${r.stderr}`).toContain(r.code);
        if (r.code === 2) {
          refused++;
          expectOneError(r);
        }
      }
    }
    expect(refused).toBeGreaterThan(points.length / 2);
    await expectUnchanged();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('release arguments that are not release ids: exit 2, nothing changed', () => {
  it.each([
    [['rollback', '--to', '../../etc'], '--to "../../etc" is not a release id'],
    [['rollback', '--to', '20240101_000000/../x'], '--to "20240101_000000/../x" is not a release id'],
    [['rollback', '--to', '/etc/passwd', '--dry-run'], 'is not a release id'],
    [['protect', '../x'], 'release "../x" is not a release id'],
    [['unprotect', '../../releases'], 'is not a release id'],
    [['rollback', '--to', '20000101_000000'], 'release 20000101_000000 does not exist'],
  ])('%j', async (args, says) => {
    // one after the other: a rollback to a well-formed id takes the deploy lock before it looks
    const plain = await sb.run(args);
    const json = await sb.run([...args, '--json']);
    expectOneError(plain);
    expect(plain.stderr).toContain(says);
    expect(expectJsonError(json).error).toContain(says);
    await expectUnchanged();
  });
});

describe('unknown commands and options: exit 2', () => {
  it.each([
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['deploy', '--bogus'], "unknown option '--bogus'"],
    [['deploy', '--strategy', 'sideways'], "argument 'sideways' is invalid"],
    [['rollback', '--to'], "option '--to <release>' argument missing"],
    [['cleanup', '--keep', '0'], '--keep must be a whole number'],
  ])('%j', async (args, says) => {
    const [plain, json] = await Promise.all([sb.run(args), sb.run(['--json', ...args])]);
    expectOneError(plain);
    expect(plain.stderr).toContain(says);
    expect(expectJsonError(json).error).toContain(says);
    await expectUnchanged();
  });
});

describe('the seed manifest (000 §8.1)', () => {
  const seed = join(ROOT, 'test', 'fixtures', 'seed-manifest.yml');
  const webhook = 'https://hooks.slack.example/services/T000/B000/seedtestsecret';

  it('validates, noting what deploy does not support yet', async () => {
    const r = await sb.run(['validate', '-f', seed], { env: { SLACK_WEBHOOK: webhook } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('seed-manifest.yml is valid (app my-application)');
    expect(r.stdout).toContain('note: `deploy` will refuse these until they are built:');
    expect(r.stdout).toContain('router.type: strategy rolling without a router (use `type: embedded`, `nginx` or `haproxy`) is not supported yet');
    expect(r.stdout).toContain('service.manager: service manager "systemd" is not supported yet');
    expect(r.stdout).toContain('notifications.slack: slack notifications is not supported yet');
    expect(r.stdout).toContain('notifications.email: email notifications is not supported yet');
    const j = await sb.run(['validate', '--json', '-f', seed], { env: { SLACK_WEBHOOK: webhook } });
    expect(j.code).toBe(0);
    expect(j.json).toMatchObject({ valid: true, app: 'my-application' });
    expect((j.json!.not_supported_yet as string[]).length).toBeGreaterThanOrEqual(4);
  });

  it('without SLACK_WEBHOOK it names the variable and its line', async () => {
    const r = await sb.run(['validate', '-f', seed], { env: { SLACK_WEBHOOK: undefined } });
    expectOneError(r);
    const line = lineOfText(readFileSync(seed, 'utf8'), 'webhook: ${SLACK_WEBHOOK}');
    expect(r.stderr).toContain(`seed-manifest.yml:${line}: notifications.slack.webhook: environment variable SLACK_WEBHOOK is not set`);
  });

  it('deploy refuses it (exit 2) naming each unsupported feature, and creates nothing', async () => {
    const appRoot = '/var/www/myapp';
    const existed = existsSync(appRoot);
    const r = await sb.run(['deploy', '-f', seed], { env: { SLACK_WEBHOOK: webhook } });
    expectOneError(r);
    for (const s of ['strategy rolling without a router', 'service manager "systemd"', 'slack notifications', 'email notifications']) expect(r.stderr).toContain(s);
    expect(r.stderr).toMatch(/seed-manifest\.yml:\d+: router\.type/);
    expect(existsSync(appRoot)).toBe(existed);

    // the same manifest pointed into the sandbox: its app root is never created
    const copy = join(sb.dir, 'seed.yml');
    const sandboxRoot = join(sb.dir, 'seed-app-root');
    writeFileSync(copy, readFileSync(seed, 'utf8').replace('app_root: /var/www/myapp', `app_root: ${sandboxRoot}`));
    const [plain, json] = await Promise.all([sb.run(['deploy', '-f', copy], { env: { SLACK_WEBHOOK: webhook } }), sb.run(['deploy', '--json', '-f', copy], { env: { SLACK_WEBHOOK: webhook } })]);
    expectOneError(plain);
    const j = expectJsonError(json);
    expect((j.issues as { path: string }[]).map((i) => i.path)).toEqual(expect.arrayContaining(['router.type', 'service.manager', 'notifications.slack', 'notifications.email']));
    expect(existsSync(sandboxRoot)).toBe(false);
    await expectUnchanged();
  });
});

describe('sanity of the fixture', () => {
  it('the good manifest deploys the two releases the cases compare against', () => {
    expect(releases).toHaveLength(2);
    expect(readFileSync(join(sb.appRoot, '.deploy_state', 'rollback_point'), 'utf8').trim()).toBe(releases[0]);
  });
});
