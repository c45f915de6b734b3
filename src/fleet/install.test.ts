import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess } from '../util/process.js';
import { parseProbe, probeCommand } from './install.js';

const PROBE_SCRIPT = [
  'cd || exit 97',
  'printf "home=%s\\n" "$HOME"',
  'r=$3; case $r in "~/"*) r=$HOME/${r#"~/"};; esac',
  'if [ -d "$r/releases" ]; then for d in "$r/releases"/*; do if [ -e "$d" ]; then printf "release=%s\\n" "${d##*/}"; fi; done; fi',
  'if command -v "$1" >/dev/null 2>&1; then printf "node=%s\\n" "$("$1" --version 2>/dev/null)"; fi',
  'if command -v rsync >/dev/null 2>&1; then echo rsync=yes; fi',
  'if test -f "$2/agent.js"; then echo agent=yes; fi',
  'exit 0',
].join('\n');

const REL = '.deployer/agent/1.4.0-0123456789abcdef';

describe('probeCommand', () => {
  it('is `sh -c <static script> probe <node> <dir> <app root>`', () => {
    expect(probeCommand('node', REL, '/srv/app')).toEqual(['sh', '-c', PROBE_SCRIPT, 'probe', 'node', REL, '/srv/app']);
  });

  it('the variable parts are positional arguments, never in the script', () => {
    const hostile = probeCommand('/opt/my node/$(reboot)/node', "x'; rm -rf ~ #");
    expect(hostile).toEqual(['sh', '-c', PROBE_SCRIPT, 'probe', '/opt/my node/$(reboot)/node', "x'; rm -rf ~ #", '']);
    expect(hostile[2]).toBe(probeCommand('node', REL)[2]);
  });
});

describe('parseProbe', () => {
  it('a host with everything', () => {
    expect(parseProbe('home=/home/deploy\nnode=20.11.1\nrsync=yes\nagent=yes\n', REL)).toEqual({
      home: '/home/deploy',
      nodeVersion: '20.11.1',
      rsync: true,
      agentDir: `/home/deploy/${REL}`,
      agentPresent: true,
      releases: [],
    });
  });

  it('a bare host: no node, no rsync, no agent', () => {
    expect(parseProbe('home=/root\n', REL)).toEqual({ home: '/root', nodeVersion: null, rsync: false, agentDir: `/root/${REL}`, agentPresent: false, releases: [] });
  });

  it('a `node` that prints no version is no node', () => {
    expect(parseProbe('home=/root\nnode=\nrsync=yes\n', REL)).toEqual({ home: '/root', nodeVersion: null, rsync: true, agentDir: `/root/${REL}`, agentPresent: false, releases: [] });
  });

  it('node without rsync, agent present; home `/` and a trailing slash; `=` in a value', () => {
    expect(parseProbe('home=/\nnode=22.3.0\nagent=yes\n', REL)).toEqual({ home: '/', nodeVersion: '22.3.0', rsync: false, agentDir: `/${REL}`, agentPresent: true, releases: [] });
    expect(parseProbe('home=/home/deploy//\n', 'a')).toMatchObject({ home: '/home/deploy//', agentDir: '/home/deploy/a' });
    expect(parseProbe('home=/home/a=b\n', 'a').home).toBe('/home/a=b');
  });

  it("lists the app's releases on the host", () => {
    expect(parseProbe('home=/root\nrelease=20261122_100000\nrelease=20261122_110000.failed\n', 'a').releases).toEqual(['20261122_100000', '20261122_110000.failed']);
  });

  it('other lines (a login banner) are ignored', () => {
    expect(parseProbe('Welcome to web1\nLast login: Mon\nhome=/srv/deploy\nrsync=yes\n', 'a')).toEqual({ home: '/srv/deploy', nodeVersion: null, rsync: true, agentDir: '/srv/deploy/a', agentPresent: false, releases: [] });
  });
});

describe('the probe script, run here with sh -c', () => {
  const home = mkdtempSync(join(tmpdir(), 'probe-home-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const env = { PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/bin:/bin'}`, HOME: home };
  const probe = async (node: string, rel: string) => {
    const r = await runProcess(probeCommand(node, rel), { env, cwd: '/', timeoutMs: 30_000 });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.stdout;
  };
  const hasRsync = async () => (await runProcess(['sh', '-c', 'command -v rsync'], { env })).code === 0;

  it('a node that does not exist: nodeVersion null, no agent yet', async () => {
    const out = await probe('/nonexistent/bin/node', REL);
    expect(parseProbe(out, REL)).toEqual({ home, nodeVersion: null, rsync: await hasRsync(), agentDir: `${home}/${REL}`, agentPresent: false, releases: [] });
  });

  it("`node` on PATH: this Node's version; the agent once its agent.js is there (relative to HOME)", async () => {
    mkdirSync(join(home, REL), { recursive: true });
    writeFileSync(join(home, REL, 'agent.js'), '');
    const out = await probe('node', REL);
    expect(parseProbe(out, REL)).toEqual({ home, nodeVersion: process.versions.node, rsync: await hasRsync(), agentDir: `${home}/${REL}`, agentPresent: true, releases: [] });
  });

  it('hostile node and dir arguments are data, not shell', async () => {
    const rel = '.deployer/agent/a b/$(touch pwned)';
    mkdirSync(join(home, rel), { recursive: true });
    writeFileSync(join(home, rel, 'agent.js'), '');
    const out = await probe('$(touch pwned2)', rel);
    expect(parseProbe(out, rel)).toMatchObject({ nodeVersion: null, agentPresent: true, releases: [] });
    expect([existsSync(join(home, 'pwned')), existsSync(join(home, 'pwned2')), existsSync('/pwned'), existsSync('/pwned2')]).toEqual([false, false, false, false]);
  });

  it('a HOME it cannot enter: exit 97', async () => {
    const r = await runProcess(probeCommand('node', REL), { env: { ...env, HOME: join(home, 'missing') }, timeoutMs: 30_000 });
    expect(r.code).toBe(97);
    expect(r.stdout).toBe('');
  });
});
