import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { filesContaining, git, gitSpy, listFiles, readLog, run, serveFiles, sha256Of, writeManifest, type FileServer } from './support/fixtures.js';
import { servedVersion } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

/**
 * Release sources end to end through `deployer deploy`: archives (tar.gz, tar.bz2, zip; local
 * and over HTTP with sha256), hostile archives, git repositories, and local excludes.
 */

let sb: Sandbox;
let server: FileServer | undefined;
beforeEach(async () => {
  sb = new Sandbox('sources');
  await sb.writeApp('v1');
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  sb.cleanup();
});

const releasesDir = () => join(sb.appRoot, 'releases');
const releaseIds = () => readdirSync(releasesDir()).sort();
const current = () => readlinkSync(join(sb.appRoot, 'current'));
const meta = (id: string) => JSON.parse(readFileSync(join(releasesDir(), id, '.release_meta'), 'utf8')) as Record<string, unknown>;
const lockPath = () => join(sb.appRoot, '.deploy_state', 'deploy.lock');

/** Packs the sample app (sb.src) into `name` in the sandbox dir with the system tool. */
function pack(name: string, topDir?: string): string {
  const out = join(sb.dir, name);
  let cwd = sb.src;
  let what = '.';
  if (topDir) {
    // GitHub-style: every entry under one top-level directory
    const stage = join(sb.dir, 'stage');
    cpSync(sb.src, join(stage, topDir), { recursive: true });
    cwd = stage;
    what = topDir;
  }
  if (name.endsWith('.tar.gz')) run(['tar', 'czf', out, what], cwd);
  else if (name.endsWith('.tar.bz2')) run(['tar', 'cjf', out, what], cwd);
  else if (name.endsWith('.zip')) run(['zip', '-qr', out, what], cwd);
  else throw new Error(`unknown format ${name}`);
  return out;
}

async function deployOk(): Promise<Record<string, unknown>> {
  const r = await sb.run(['deploy', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return r.json!;
}

/** Python writes the hostile archives: no archiver we ship would produce them. */
function python(script: string): void {
  run(['python3', '-c', script], sb.dir);
}

describe('archive sources', () => {
  it.each(['tar.gz', 'tar.bz2', 'zip'])('deploys a local .%s made by the system archiver', async (format) => {
    sb.setVersion(`from-${format}`);
    const file = pack(`app.${format}`);
    writeManifest(sb, { source: `source: { type: archive, url: ./app.${format} }` });
    const r = await deployOk();
    expect(await servedVersion(sb.port)).toBe(`from-${format}`);
    const m = meta(r.release as string);
    expect(m).toMatchObject({ source_type: 'archive', source: file, checksum: `sha256:${sha256Of(file)}` });
    // modes survive: the restart script that started the app is executable
    expect(statSync(join(releasesDir(), r.release as string, 'bin', 'restart')).mode & 0o111).not.toBe(0);
    expect(readFileSync(join(releasesDir(), r.release as string, 'server.cjs'), 'utf8')).toBe(readFileSync(join(sb.src, 'server.cjs'), 'utf8'));
  });

  it('an archive with constant mtimes (a reproducible build) still updates a file whose size did not change', async () => {
    const packFixed = (name: string) => run(['tar', 'czf', join(sb.dir, name), '--mtime=@946684800', '.'], sb.src);
    sb.setVersion('r1');
    packFixed('r1.tar.gz');
    sb.setVersion('r2');
    packFixed('r2.tar.gz');
    writeManifest(sb, { source: 'source: { type: archive, url: ./r1.tar.gz }' });
    const first = await deployOk();
    expect(await servedVersion(sb.port)).toBe('r1');
    writeManifest(sb, { source: 'source: { type: archive, url: ./r2.tar.gz }' });
    const second = await deployOk();
    expect(await servedVersion(sb.port)).toBe('r2');
    const ino = (r: Record<string, unknown>, f: string) => statSync(join(releasesDir(), r.release as string, f)).ino;
    expect(readFileSync(join(releasesDir(), second.release as string, 'VERSION'), 'utf8')).toBe('r2\n');
    expect(ino(second, 'VERSION')).not.toBe(ino(first, 'VERSION'));
    // what did not change is still linked from the previous release
    expect(ino(second, 'server.cjs')).toBe(ino(first, 'server.cjs'));
  });

  it('downloads a .tar.gz over HTTP with the right sha256; a wrong sha256 fails before extracting and changes nothing', async () => {
    sb.setVersion('http-1');
    const good = pack('app.tar.gz');
    sb.setVersion('http-2');
    const other = pack('other.tar.gz');
    server = await serveFiles({ '/app.tar.gz': good, '/other.tar.gz': other });
    const sha = sha256Of(good);
    writeManifest(sb, { source: `source: { type: archive, url: "${server.url('/app.tar.gz')}", sha256: ${sha} }` });
    const first = await deployOk();
    expect(await servedVersion(sb.port)).toBe('http-1');
    expect(meta(first.release as string)).toMatchObject({ source_type: 'archive', source: server.url('/app.tar.gz'), checksum: `sha256:${sha}` });
    expect(server.requests.map((q) => q.url)).toEqual(['/app.tar.gz']);

    // the other archive, with the first one's digest: refused
    writeManifest(sb, { source: `source: { type: archive, url: "${server.url('/other.tar.gz')}", sha256: ${sha} }` });
    const bad = await sb.run(['deploy', '--json']);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stderr).toContain('sha256 mismatch');
    expect(bad.stderr).toContain(`expected ${sha}, got ${sha256Of(other)}`);
    expect(bad.json).toMatchObject({ result: 'failed', rolled_back: false });
    expect(server.requests.map((q) => q.url)).toEqual(['/app.tar.gz', '/other.tar.gz']);
    // nothing extracted: no new release, no scratch left, the live release untouched and serving
    expect(releaseIds()).toEqual([first.release]);
    expect(listFiles(join(sb.appRoot, '.deploy_state', 'tmp'))).toEqual([]);
    expect(current()).toBe(`releases/${first.release as string}`);
    expect(await servedVersion(sb.port)).toBe('http-1');
    expect(existsSync(lockPath())).toBe(false);
  });

  it('strip_components: 1 unpacks a GitHub-style archive with one top-level directory', async () => {
    sb.setVersion('stripped');
    const file = pack('app-1.2.3.tar.gz', 'app-1.2.3');
    expect(run(['tar', 'tzf', file], sb.dir).split('\n').filter(Boolean).every((e) => e.startsWith('app-1.2.3'))).toBe(true);
    server = await serveFiles({ '/archive/v1.2.3.tar.gz': file });
    writeManifest(sb, { source: `source: { type: archive, url: "${server.url('/archive/v1.2.3.tar.gz')}", sha256: ${sha256Of(file)}, strip_components: 1 }` });
    const r = await deployOk();
    expect(await servedVersion(sb.port)).toBe('stripped');
    const rel = join(releasesDir(), r.release as string);
    expect(existsSync(join(rel, 'app-1.2.3'))).toBe(false);
    expect(readdirSync(rel).sort()).toEqual(['.release_meta', 'VERSION', 'bin', 'server.cjs']);
  });

  it('a URL with user:password authenticates but never appears in .release_meta, history, logs or output', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const file = pack('app.tar.gz');
    server = await serveFiles({ '/app.tar.gz': file }, `alice:${password}`);
    const url = server.url('/app.tar.gz', `alice:${password}`);
    writeManifest(sb, { source: `source: { type: archive, url: "${url}", insecure: true }` });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    // the credentials were sent (the server refuses requests without them)
    expect(server.requests.at(-1)?.authorization).toBe(`Basic ${Buffer.from(`alice:${password}`).toString('base64')}`);
    expect(meta(r.json!.release as string).source).toBe(server.url('/app.tar.gz'));
    expect(filesContaining(sb.appRoot, password)).toEqual([]);
    expect(filesContaining(sb.appRoot, 'alice')).toEqual([]);
    const log = readLog(r.json!.log as string);
    const plan = log.find((e) => e.type === 'plan')!.plan as { steps: { step: { kind: string; source?: string } }[] };
    expect(plan.steps[0]!.step).toMatchObject({ kind: 'prepare_release', source: `archive ${server.url('/app.tar.gz')}` });
    expect(r.stdout + r.stderr).not.toContain(password);
    const hist = await sb.run(['history', '--json']);
    expect(hist.stdout).not.toContain(password);
    const dry = await sb.run(['deploy', '--dry-run', '--json']);
    expect(dry.code).toBe(0);
    expect(dry.stdout + dry.stderr).not.toContain(password);
  });
});

describe('hostile archives', () => {
  const evil = `evil-${randomBytes(4).toString('hex')}`;
  const cases: { name: string; file: string; entry: string; script: (f: string) => string }[] = [
    {
      name: 'an entry ../<name> (tar.gz)',
      file: 'hostile.tar.gz',
      entry: `../${evil}`,
      script: (f) => tarScript(f, [`reg('VERSION', b'v2\\n')`, `reg('../${evil}', b'pwned')`]),
    },
    {
      name: 'an entry ../../../../<name> (tar.gz)',
      file: 'hostile.tar.gz',
      entry: `../../../../${evil}`,
      script: (f) => tarScript(f, [`reg('VERSION', b'v2\\n')`, `reg('../../../../${evil}', b'pwned')`]),
    },
    {
      name: 'a symlink to /etc and a file written through it (tar.gz)',
      file: 'hostile.tar.gz',
      entry: 'etc',
      script: (f) => tarScript(f, [`reg('VERSION', b'v2\\n')`, `sym('etc', '/etc')`, `reg('etc/${evil}', b'pwned')`]),
    },
    {
      name: 'a relative symlink out of the release and a file through it (tar.gz)',
      file: 'hostile.tar.gz',
      entry: 'up',
      script: (f) => tarScript(f, [`reg('VERSION', b'v2\\n')`, `sym('up', '../../../..')`, `reg('up/${evil}', b'pwned')`]),
    },
    {
      name: 'an in-release symlink and a file written through it (tar.gz)',
      file: 'hostile.tar.gz',
      entry: `inside/${evil}`,
      script: (f) => tarScript(f, [`reg('VERSION', b'v2\\n')`, `sym('inside', 'bin')`, `reg('inside/${evil}', b'pwned')`]),
    },
    {
      name: 'an entry ../<name> (zip)',
      file: 'hostile.zip',
      entry: `../${evil}`,
      script: (f) => `import zipfile\nwith zipfile.ZipFile(${JSON.stringify(f)}, 'w') as z:\n  z.writestr('VERSION', 'v2\\n')\n  z.writestr('../${evil}', 'pwned')\n`,
    },
  ];

  it.each(cases)('refuses $name on the second deploy: exit 1, nothing written, the previous release stays live', async (c) => {
    writeManifest(sb, { source: 'source: { type: archive, url: ./good.tar.gz }' });
    pack('good.tar.gz');
    const first = await deployOk();
    expect(await servedVersion(sb.port)).toBe('v1');
    const before = readFileSync(join(sb.appRoot, '.deploy_state', 'history.jsonl'), 'utf8');

    python(c.script(join(sb.dir, c.file)));
    writeManifest(sb, { source: `source: { type: archive, url: ./${c.file} }` });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`entry ${JSON.stringify(c.entry)}`);
    expect(r.stderr).toContain('archive refused');
    expect(r.json).toMatchObject({ result: 'failed', previous: first.release });
    // nothing outside the release: no file of that name anywhere in the sandbox, nor in /etc
    const found = run(['find', sb.dir, '-name', evil], sb.dir).trim();
    expect(found).toBe('');
    expect(existsSync(join('/etc', evil))).toBe(false);
    expect(existsSync(join(sb.appRoot, '..', evil))).toBe(false);
    // the half-made release is gone; the previous one is live and serving
    expect(releaseIds()).toEqual([first.release]);
    expect(current()).toBe(`releases/${first.release as string}`);
    expect(await servedVersion(sb.port)).toBe('v1');
    expect(existsSync(lockPath())).toBe(false);
    const after = readFileSync(join(sb.appRoot, '.deploy_state', 'history.jsonl'), 'utf8');
    expect(after.startsWith(before)).toBe(true);
    expect(JSON.parse(after.trim().split('\n').pop()!)).toMatchObject({ result: 'failed', release: r.json!.release });
  });
});

describe('archive size limit', () => {
  it('refuses an archive that expands past source.max_size (a decompression bomb), changing nothing', async () => {
    writeManifest(sb, { source: 'source: { type: archive, url: ./good.tar.gz }' });
    pack('good.tar.gz');
    const first = await deployOk();
    // 3 MB of zeros compress to a few KB
    python(tarScript(join(sb.dir, 'bomb.tar.gz'), [`reg('VERSION', b'v2\\n')`, `reg('zeros.bin', bytes(3 * 1024 * 1024))`]));
    writeManifest(sb, { source: 'source: { type: archive, url: ./bomb.tar.gz, max_size: 1MB }' });
    const r = await sb.run(['deploy', '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('expands to more than 1000000 bytes (source.max_size); archive refused');
    expect(releaseIds()).toEqual([first.release]);
    expect(current()).toBe(`releases/${first.release as string}`);
    expect(readdirSync(join(sb.appRoot, '.deploy_state')).includes('tmp') ? readdirSync(join(sb.appRoot, '.deploy_state', 'tmp')) : []).toEqual([]);
  });
});

/** python3 tarfile: `reg(name, bytes)` adds a file, `sym(name, target)` a symlink. */
function tarScript(file: string, entries: string[]): string {
  return [
    'import io, tarfile',
    `t = tarfile.open(${JSON.stringify(file)}, 'w:gz')`,
    'def reg(name, data):',
    '  ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644; t.addfile(ti, io.BytesIO(data))',
    'def sym(name, target):',
    '  ti = tarfile.TarInfo(name); ti.type = tarfile.SYMTYPE; ti.linkname = target; t.addfile(ti)',
    ...entries,
    't.close()',
  ].join('\n');
}

describe('git sources', () => {
  let spyLog: string;
  let spyPath: string;
  /** The sample app as a repository: main (v1.0 tagged, then main-2), a branch `feature`. */
  function makeRepo(): { tag: string; feature: string; main: string } {
    git(sb.src, 'init', '-q', '-b', 'main');
    sb.setVersion('v1.0');
    git(sb.src, 'add', '-A');
    git(sb.src, 'commit', '-qm', 'first');
    git(sb.src, 'tag', 'v1.0');
    const tag = git(sb.src, 'rev-parse', 'HEAD');
    git(sb.src, 'checkout', '-qb', 'feature');
    sb.setVersion('feature');
    git(sb.src, 'commit', '-qam', 'feature work');
    const feature = git(sb.src, 'rev-parse', 'HEAD');
    git(sb.src, 'checkout', '-q', 'main');
    sb.setVersion('main-2');
    git(sb.src, 'commit', '-qam', 'second');
    return { tag, feature, main: git(sb.src, 'rev-parse', 'HEAD') };
  }
  const gitCalls = (verb: string) => (existsSync(spyLog) ? readFileSync(spyLog, 'utf8').split('\n').filter((l) => l === verb).length : 0);
  const deployGit = (url: string, ref?: string) => {
    writeManifest(sb, { source: `source: { type: git, url: "${url}"${ref ? `, branch: "${ref}"` : ''} }` });
    return sb.run(['deploy', '--json'], { env: { PATH: `${spyPath}:${process.env.PATH}` } });
  };

  beforeEach(() => {
    spyPath = join(sb.dir, 'spy');
    mkdirSync(spyPath);
    spyLog = join(sb.dir, 'git-calls.log');
    gitSpy(spyPath, spyLog);
  });

  it('deploys the default branch, a branch, a tag and a commit, cloning the mirror once', async () => {
    const c = makeRepo();
    const expectRelease = async (r: Awaited<ReturnType<typeof deployGit>>, served: string, commit: string, branch: string | null) => {
      expect(r.code, r.stderr).toBe(0);
      expect(await servedVersion(sb.port)).toBe(served);
      const id = r.json!.release as string;
      const m = meta(id);
      expect(m).toMatchObject({ source_type: 'git', git_commit: commit, git_branch: branch, checksum: `git:${commit}` });
      expect(m.git_commit).toMatch(/^[0-9a-f]{40}$/);
      // the version defaults to `git describe --tags --always`
      expect(m.version).toBe(git(sb.src, 'describe', '--tags', '--always', commit));
      expect(r.json!.version).toBe(m.version);
      // no repository metadata in the release
      expect(listFiles(join(releasesDir(), id)).filter((f) => f.split('/').includes('.git'))).toEqual([]);
      expect(existsSync(join(releasesDir(), id, '.git'))).toBe(false);
      expect(readFileSync(join(releasesDir(), id, 'VERSION'), 'utf8').trim()).toBe(served);
    };

    const def = await deployGit('./app');
    await expectRelease(def, 'main-2', c.main, 'main');
    expect(meta(def.json!.release as string).version).toMatch(/^v1\.0-1-g[0-9a-f]+$/);

    await expectRelease(await deployGit('./app', 'feature'), 'feature', c.feature, 'feature');
    const tagged = await deployGit('./app', 'v1.0');
    await expectRelease(tagged, 'v1.0', c.tag, 'v1.0');
    expect(meta(tagged.json!.release as string).version).toBe('v1.0');
    await expectRelease(await deployGit('./app', c.feature), 'feature', c.feature, null);

    // one mirror under $DEPLOYER_HOME/cache/git, cloned once, fetched by every later deploy
    expect(readdirSync(join(sb.home, 'cache', 'git'))).toHaveLength(1);
    expect(gitCalls('clone')).toBe(1);
    expect(gitCalls('fetch')).toBe(3);
  });

  it('a deploy after a new commit fetches into the cached mirror and links unchanged files from the previous release', async () => {
    makeRepo();
    const url = `file://${sb.src}`;
    const first = await deployGit(url);
    expect(first.code, first.stderr).toBe(0);
    const mirror = join(sb.home, 'cache', 'git', readdirSync(join(sb.home, 'cache', 'git'))[0]!);
    const objectsIno = statSync(join(mirror, 'objects')).ino;

    sb.setVersion('main-3');
    git(sb.src, 'commit', '-qam', 'third');
    const head = git(sb.src, 'rev-parse', 'HEAD');
    const second = await deployGit(url);
    expect(second.code, second.stderr).toBe(0);
    expect(await servedVersion(sb.port)).toBe('main-3');
    expect(meta(second.json!.release as string)).toMatchObject({ git_commit: head, git_branch: 'main', source: url });
    expect(gitCalls('clone')).toBe(1);
    expect(gitCalls('fetch')).toBe(1);
    expect(statSync(join(mirror, 'objects')).ino).toBe(objectsIno);

    const ino = (r: typeof first, f: string) => statSync(join(releasesDir(), r.json!.release as string, f)).ino;
    expect(ino(second, 'server.cjs')).toBe(ino(first, 'server.cjs'));
    expect(ino(second, 'bin/restart')).toBe(ino(first, 'bin/restart'));
    expect(ino(second, 'VERSION')).not.toBe(ino(first, 'VERSION'));
  });

  it('a missing ref fails with a clear message and changes nothing live', async () => {
    makeRepo();
    const url = `file://${sb.src}`;
    const first = await deployGit(url);
    expect(first.code, first.stderr).toBe(0);
    const r = await deployGit(url, 'no-such-branch');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no branch, tag or commit named "no-such-branch"');
    expect(r.json).toMatchObject({ result: 'failed', error: expect.stringContaining('no-such-branch') });
    expect(releaseIds()).toEqual([first.json!.release]);
    expect(current()).toBe(`releases/${first.json!.release as string}`);
    expect(await servedVersion(sb.port)).toBe('main-2');
    expect(existsSync(lockPath())).toBe(false);
  });
});

describe('local source excludes', () => {
  it('leaves out node_modules (any depth), *.log, /tmp (top only) and docs/ (directories only)', async () => {
    const files: Record<string, string> = {
      'node_modules/dep/index.js': 'x',
      'lib/node_modules/inner.js': 'x',
      'app.log': 'x',
      'lib/deep/trace.log': 'x',
      'tmp/scratch': 'x',
      'lib/tmp/kept': 'x',
      'docs/guide.md': 'x',
      'lib/docs/api.md': 'x',
      'lib/docs.txt': 'x',
      'notes/docs': 'a file named docs',
      'lib/logger.js': 'x',
      'logs.txt': 'x',
    };
    for (const [f, body] of Object.entries(files)) {
      mkdirSync(join(sb.src, f, '..'), { recursive: true });
      writeFileSync(join(sb.src, f), body);
    }
    chmodSync(join(sb.src, 'lib', 'logger.js'), 0o640);
    writeManifest(sb, { source: 'source: { type: local, path: ./app, exclude: [node_modules, "*.log", /tmp, docs/] }' });
    const r = await deployOk();
    expect(await servedVersion(sb.port)).toBe('v1');
    const inRelease = listFiles(join(releasesDir(), r.release as string)).filter((f) => f !== '.release_meta');
    expect(inRelease.sort()).toEqual(['VERSION', 'bin/restart', 'lib/docs.txt', 'lib/logger.js', 'lib/tmp/kept', 'logs.txt', 'notes/docs', 'server.cjs']);
    expect(statSync(join(releasesDir(), r.release as string, 'lib', 'logger.js')).mode & 0o777).toBe(0o640);
  });
});
