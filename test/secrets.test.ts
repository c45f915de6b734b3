import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filesContaining, hooksYaml, listFiles, STACK_FRAME, writeManifest } from './support/fixtures.js';
import type { CliResult } from './support/cli.js';
import { Sandbox } from './support/sandbox.js';

/**
 * Secret values (`environment:` values, notification settings) reach the hooks but never the
 * files in .deploy_state/ (logs, history, last_deploy, the journal) nor the --json output.
 */

const SECRET = 's3cr3t-Value-123';
const TOKEN = 'tok-9f8e7d6c5b4a';

let sb: Sandbox;
let seen: string;
beforeEach(async () => {
  sb = new Sandbox('secrets');
  await sb.writeApp('v1');
  seen = join(sb.dir, 'seen');
  mkdirSync(seen);
});
afterEach(() => sb.cleanup());

const state = () => join(sb.appRoot, '.deploy_state');
/** Copies the journal as it is while the hook runs (outside .deploy_state, to inspect later). */
const copyJournal = (name: string) => `cp "$DEPLOY_APP_ROOT/.deploy_state/journal.json" "${seen}/journal.${name}.json"`;

function expectNoSecretIn(r: CliResult, where: string): void {
  for (const s of [SECRET, TOKEN]) {
    expect(r.stdout, `${where} stdout`).not.toContain(s);
    expect(filesContaining(state(), s), `${where}: .deploy_state files with a secret`).toEqual([]);
    expect(filesContaining(seen, s).filter((f) => f.startsWith('journal.')), `${where}: journal copies with a secret`).toEqual([]);
  }
}

describe('environment values', () => {
  it('reach the hooks, but not .deploy_state or --json, when hooks print them', async () => {
    writeManifest(sb, {
      env: { DB_PASSWORD: SECRET, API_TOKEN: TOKEN },
      extra: hooksYaml({
        build: [`echo "password is $DB_PASSWORD"; echo "token $API_TOKEN" >&2; printf %s "$DB_PASSWORD" > ${seen}/build.env`, copyJournal('build')],
        post_deploy: [`echo "deployed with $DB_PASSWORD"`, copyJournal('post_deploy')],
      }),
    });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    // the hook saw the real value
    expect(readFileSync(join(seen, 'build.env'), 'utf8')).toBe(SECRET);
    expect(existsSync(join(seen, 'journal.build.json'))).toBe(true);
    expect(existsSync(join(seen, 'journal.post_deploy.json'))).toBe(true);
    expectNoSecretIn(r, 'deploy');
    // the output lines are in the log, masked
    const log = readFileSync(r.json!.log as string, 'utf8');
    expect(log).toContain('password is ***');
    expect(log).toContain('token ***');
    for (const f of ['history.jsonl', 'last_deploy.json']) expect(listFiles(state())).toContain(f);

    const verbose = await sb.run(['deploy', '--json', '--verbose']);
    expect(verbose.code, verbose.stderr).toBe(0);
    expect(verbose.stderr).toContain('password is ***');
    expect(verbose.stderr).not.toContain(SECRET);
    expect(verbose.stderr).not.toContain(TOKEN);
    expectNoSecretIn(verbose, 'deploy --verbose');

    for (const verb of [['history', '--json'], ['status', '--json'], ['releases', '--json'], ['doctor', '--json']]) {
      const out = await sb.run(verb);
      expect(out.stdout + out.stderr, verb.join(' ')).not.toContain(SECRET);
    }
  });

  it('stay out of .deploy_state and --json when a failing hook prints them', async () => {
    writeManifest(sb, { extra: hooksYaml({ post_deploy: ['true'] }) });
    expect((await sb.run(['deploy'])).code).toBe(0);
    writeManifest(sb, {
      env: { DB_PASSWORD: SECRET, API_TOKEN: TOKEN },
      extra: hooksYaml({
        build: [`printf %s "$DB_PASSWORD" > ${seen}/build.env; echo "cannot connect with $DB_PASSWORD"; echo "bad token $API_TOKEN" >&2; exit 1`],
        on_failure: [copyJournal('on_failure')],
      }),
    });
    const r = await sb.run(['deploy', '--json', '--verbose']);
    expect(r.code).toBe(1);
    expect(readFileSync(join(seen, 'build.env'), 'utf8')).toBe(SECRET);
    // the failure is explained with the output, masked
    expect(r.json!.error).toContain('cannot connect with ***');
    expect(r.json!.error).toContain('bad token ***');
    expect(r.stderr).toContain('cannot connect with ***');
    expect(r.stderr).not.toContain(SECRET);
    // --verbose prints the stack of the error too: it must be masked as well
    expect(r.stderr).toMatch(STACK_FRAME);
    expect(existsSync(join(seen, 'journal.on_failure.json'))).toBe(true);
    expect(readFileSync(join(seen, 'journal.on_failure.json'), 'utf8')).toContain('cannot connect with ***');
    expectNoSecretIn(r, 'failed deploy');
    const last = JSON.parse(readFileSync(join(state(), 'last_deploy.json'), 'utf8'));
    expect(last).toMatchObject({ result: 'failed', error: expect.stringContaining('***') });
  });
});

describe('notification settings', () => {
  const WEBHOOK = 'https://hooks.slack.example/services/T0/B0/slacksecret-42';
  const HEADER = 'Bearer hdr-secret-0042';
  const SMTP_PASS = 'smtp-pass-0042';
  const notifications = `notifications:
  slack: { webhook: "\${SLACK_WEBHOOK}", channel: "#deploys" }
  webhook: { url: "https://hooks.example/deploy?key=whsecret-0042", headers: { Authorization: "${HEADER}" } }
  email:
    smtp: { host: smtp.example, port: 587, user: deployer, pass: "${SMTP_PASS}" }
    recipients: [ops@example.invalid]
`;
  const secrets = [WEBHOOK, 'slacksecret-42', 'whsecret-0042', HEADER, 'hdr-secret-0042', SMTP_PASS];

  it('deploy refuses the manifest (exit 2) without printing any of them, and creates nothing', async () => {
    writeManifest(sb, { env: { DB_PASSWORD: SECRET }, extra: notifications });
    for (const args of [['deploy'], ['deploy', '--json'], ['deploy', '--json', '--verbose'], ['deploy', '--dry-run', '--json']]) {
      const r = await sb.run(args, { env: { SLACK_WEBHOOK: WEBHOOK } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain('notifications.slack: slack notifications is not supported yet');
      for (const s of [...secrets, SECRET]) expect(r.stdout + r.stderr, `${args.join(' ')} printed ${s}`).not.toContain(s);
    }
    expect(existsSync(sb.appRoot)).toBe(false);
  });

  it('validate --json does not print them', async () => {
    writeManifest(sb, { env: { DB_PASSWORD: SECRET }, extra: notifications });
    for (const args of [['validate', '--json'], ['validate'], ['validate', '--verbose']]) {
      const r = await sb.run(args, { env: { SLACK_WEBHOOK: WEBHOOK } });
      expect(r.code, r.stderr).toBe(0);
      for (const s of [...secrets, SECRET]) expect(r.stdout + r.stderr, `${args.join(' ')} printed ${s}`).not.toContain(s);
    }
    const j = await sb.run(['validate', '--json'], { env: { SLACK_WEBHOOK: WEBHOOK } });
    expect(j.json).toMatchObject({ valid: true });
    expect(j.json!.not_supported_yet).toEqual(expect.arrayContaining([expect.stringContaining('notifications.webhook')]));
  });
});

describe('secrets in other places of the manifest', () => {
  it('a secret in a check URL stays out of the journal, --dry-run and doctor', async () => {
    writeManifest(sb, {
      env: { CHECK_TOKEN: SECRET },
      checks: false,
      extra: `health_checks:\n  - { url: "http://127.0.0.1:{port}/health?t=${SECRET}", timeout: 3s, interval: 50ms }\n`,
    });
    expect((await sb.run(['deploy'])).code).toBe(0);
    const dry = await sb.run(['deploy', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout + dry.stderr).not.toContain(SECRET);
    // a check URL is shown without its query string
    expect(dry.stderr).toMatch(/http http:\/\/127\.0\.0\.1:\d+\/health\n/);
    // a crash leaves the journal behind: it and doctor's account of it hold no secret
    const crashed = await sb.run(['deploy'], { env: { DEPLOYER_TEST_CRASH: 'activate:switched' } });
    expect(crashed.signal).toBe('SIGKILL');
    expect(readFileSync(join(state(), 'journal.json'), 'utf8')).not.toContain(SECRET);
    const doc = await sb.run(['doctor', '--json']);
    expect(doc.stdout + doc.stderr).not.toContain(SECRET);
    expect(filesContaining(state(), SECRET)).toEqual([]);
  });
});

describe('a secret not set where the state is only read', () => {
  it('does not stop status, history or abort (named in a warning), but stops a deploy, and a name or root that uses it', async () => {
    writeManifest(sb, { env: { API_KEY: '${API_KEY}' } });
    const deploy = await sb.run(['deploy'], { env: { API_KEY: SECRET } });
    expect(deploy.code, deploy.stderr).toBe(0);
    const status = await sb.run(['status', '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toMatch(/warning: API_KEY is not set; not needed here/);
    expect((status.json!.hosts as { current: string | null }[])[0]!.current).toMatch(/^\d{8}_\d{6}$/);
    expect((await sb.run(['history'])).code).toBe(0);
    // nothing in progress: the abort says so (exit 2), rather than failing on the manifest
    const abort = await sb.run(['abort']);
    expect(abort.code).toBe(2);
    expect(abort.stderr).toMatch(/no canary deploy of .* is in progress/);
    // a deploy needs it
    const again = await sb.run(['deploy']);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/environment variable API_KEY is not set/);
    // a root that uses it cannot be found without it
    sb.writeManifest(`${readFileSync(join(sb.dir, 'deploy.yml'), 'utf8')}deployment:\n  app_root: /tmp/\${API_KEY}\n`);
    const rooted = await sb.run(['status']);
    expect(rooted.code).toBe(2);
    expect(rooted.stderr).toMatch(/environment variable API_KEY is not set/);
  });
});

describe('values from the environment in errors', () => {
  it('are hidden in the error the CLI prints (--json and --verbose too), and in manifest errors', async () => {
    const ROOT_TOKEN = 'root-tok-Secret-77';
    // the root cannot be made: the system error names the path, with the value in it
    writeManifest(sb, { extra: `deployment:\n  app_root: /dev/null/\${ROOT_TOKEN}/app\n` });
    for (const args of [['deploy'], ['deploy', '--json', '--verbose'], ['status', '--json']]) {
      const r = await sb.run(args, { env: { ROOT_TOKEN } });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(args[0] === 'status' ? 0 : 1);
      expect(r.stdout + r.stderr, args.join(' ')).not.toContain(ROOT_TOKEN);
    }
    const shown = await sb.run(['deploy', '--json'], { env: { ROOT_TOKEN } });
    expect(shown.stderr).toContain('/dev/null/***/app');
    expect(shown.json!.error).toContain('/dev/null/***/app');
    // a manifest error quoting the value
    writeManifest(sb, { extra: `deployment:\n  keep_releases: "k\${KEEP_TOKEN}"\n` });
    const bad = await sb.run(['deploy', '--json'], { env: { KEEP_TOKEN: 'keep-Secret-88' } });
    expect(bad.code, bad.stderr).toBe(2);
    expect(bad.stderr).toContain('deployment.keep_releases: expected a number, got "k***"');
    expect(bad.stdout + bad.stderr).not.toContain('keep-Secret-88');
  });
});

describe('a value from the environment in the source', () => {
  it('stays out of .release_meta, the state and the output', async () => {
    const SRC = 'src-Secret-0613';
    symlinkSync(sb.src, join(sb.dir, SRC));
    writeManifest(sb, { source: 'source: { type: local, path: "./${SRC_DIR}" }' });
    const r = await sb.run(['deploy', '--json'], { env: { SRC_DIR: SRC } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('from directory ./***');
    expect(r.stdout + r.stderr).not.toContain(SRC);
    expect(listFiles(sb.appRoot).filter((f) => f.endsWith('.release_meta'))).toHaveLength(1);
    expect(filesContaining(sb.appRoot, SRC)).toEqual([]);
  });
});
