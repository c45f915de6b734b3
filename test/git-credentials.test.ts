// A git source over http with credentials in its URL, against a real git smart-HTTP server that
// requires basic auth: the deploy works, and the credentials are on no git command line (what
// every local user sees in `ps`), in no mirror config, in no file Deployer leaves and in no output.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filesContaining, git, gitSpy, writeManifest } from './support/fixtures.js';
import { serveGit, type GitHttpServer } from './support/git-http.js';
import { servedVersion } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

const USER = 'deploy-bot-41';
const TOKEN = 'ghp-Token-5e3f9a';

let sb: Sandbox;
let server: GitHttpServer | undefined;
beforeEach(async () => {
  sb = new Sandbox('gitcred');
  await sb.writeApp('v1');
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  sb.cleanup();
});

describe('git credentials', () => {
  it('reach the server as basic auth, never a command line, the mirror, a file or the output', async () => {
    git(sb.src, 'init', '-q', '-b', 'main');
    git(sb.src, 'add', '-A');
    git(sb.src, 'commit', '-qm', 'v1');
    const repos = join(sb.dir, 'repos');
    mkdirSync(repos);
    git(sb.dir, 'clone', '-q', '--bare', sb.src, join(repos, 'app.git'));
    server = await serveGit(repos, USER, TOKEN);
    const spy = join(sb.dir, 'spy');
    mkdirSync(spy);
    const argvLog = join(sb.dir, 'git-argv.log');
    gitSpy(spy, argvLog, true);
    // a private temp dir for the CLI: the askpass helper must be gone from it afterwards
    const tmp = join(sb.dir, 'tmp');
    mkdirSync(tmp);
    const env = { PATH: `${spy}:${process.env.PATH}`, GIT_TOKEN: TOKEN, TMPDIR: tmp };
    // (a plain http:// server on loopback: unpinned, so accepted only as insecure)
    writeManifest(sb, { source: `source: { type: git, url: "${server.url('app.git').replace('http://', `http://${USER}:\${GIT_TOKEN}@`)}", insecure: true }` });

    const first = await sb.run(['deploy', '--json', '--verbose'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(await servedVersion(sb.port)).toBe('v1');
    // the second deploy fetches into the mirror
    sb.setVersion('v2');
    git(sb.src, 'commit', '-qam', 'v2');
    git(sb.src, 'push', '-q', join(repos, 'app.git'), 'main');
    const second = await sb.run(['deploy', '--json', '--verbose'], { env });
    expect(second.code, second.stderr).toBe(0);
    expect(await servedVersion(sb.port)).toBe('v2');

    // git asked for them and sent them
    expect(server.authorizations).toContain(`Basic ${Buffer.from(`${USER}:${TOKEN}`).toString('base64')}`);
    const argv = readFileSync(argvLog, 'utf8');
    expect(argv).toMatch(/^clone --mirror/m);
    expect(argv).toMatch(/^fetch /m);
    for (const secret of [USER, TOKEN]) {
      expect(argv, `a git command line holds ${secret}`).not.toContain(secret);
      for (const r of [first, second]) expect(r.stdout + r.stderr).not.toContain(secret);
      expect(filesContaining(sb.home, secret), `files under DEPLOYER_HOME (mirror config included) holding ${secret}`).toEqual([]);
    }
    expect(readdirSync(tmp), 'left in the temp dir').toEqual([]);
  });
});
