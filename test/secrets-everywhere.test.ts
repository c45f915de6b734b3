// A value that came from `${VAR}` is a secret wherever the manifest puts it (here: a health
// check's query string), and a URL's credentials are never shown (here: a Prometheus address
// with user:password, unreachable, so fetch's own error names it). After a real canary deploy on
// the embedded runtime, neither is in stdout, stderr, --json, nor in any file under the app root
// or $DEPLOYER_HOME (bytes grepped), and the files Deployer wrote are private (0600, dirs 0700).
import { lstatSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, type CliResult } from './support/cli.js';
import { filesContaining } from './support/fixtures.js';
import { freePort } from './support/net.js';
import { RuntimeApp } from './support/runtime-app.js';

const TOKEN = 'tok-Zq81-from-env';
const PROM_USER = 'promuser-7d1';
const PROM_PASS = 'prom-Pw-4431';
const SECRETS = [TOKEN, PROM_USER, PROM_PASS];

let app: RuntimeApp | undefined;
afterEach(async () => {
  const a = app;
  app = undefined;
  if (a) expect(await a.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
}, 60_000);

function run(a: RuntimeApp, args: string[]): Promise<CliResult> {
  return cli(args, { cwd: a.dir, env: { ...a.env(), TOKEN }, timeoutMs: 120_000 });
}

function expectNoSecret(r: CliResult, what: string): void {
  for (const s of SECRETS) {
    expect(r.stdout, `${what}: stdout holds ${s}`).not.toContain(s);
    expect(r.stderr, `${what}: stderr holds ${s}`).not.toContain(s);
  }
}

/** Files and directories under `root` whose mode lets anyone but the owner in (symlinks aside). */
function openToOthers(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) continue;
      if ((st.mode & 0o077) !== 0) out.push(`${p.slice(root.length + 1)} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

describe('secrets from the environment and in URLs', { timeout: 180_000 }, () => {
  it('appear nowhere Deployer writes, after a canary deploy judged by an unreachable Prometheus', async () => {
    const a = (app = await RuntimeApp.create('v1', 1));
    const closed = await freePort();
    const text = a
      .manifestText({
        strategy: 'canary',
        instances: 1,
        canary: '    stages: [{weight: 20, duration: 1500ms}]',
        extra: `analysis:
  interval: 300ms
  failure_limit: 2
  min_requests: 0
  on_inconclusive: abort
  metrics:
    - { name: prom_up, provider: prometheus, address: "http://${PROM_USER}:${PROM_PASS}@127.0.0.1:${closed}/prom?tenant=x", query: 'up', max: 5 }
`,
      })
      .replace('url: "http://127.0.0.1:{port}/health"', 'url: "http://127.0.0.1:{port}/health?token=${TOKEN}"');
    expect(text).toContain('?token=${TOKEN}');
    writeFileSync(join(a.dir, 'deploy.yml'), text);

    const first = await run(a, ['deploy', '--json']);
    expect(first.code, first.stderr).toBe(0);
    expectNoSecret(first, 'first deploy');
    // the check lines show the URL without its query string
    const verbose = await run(a, ['deploy', '--json', '--verbose']);
    expect(verbose.code, verbose.stderr).toBe(1);
    expectNoSecret(verbose, 'canary deploy');
    expect(verbose.stderr).toContain(`prometheus http://127.0.0.1:${closed}/prom`);
    expect(verbose.json).toMatchObject({ result: 'rolled_back', canary: { outcome: 'aborted' } });

    for (const args of [['deploy', '--dry-run', '--json'], ['history', '--json'], ['status', '--json'], ['doctor', '--json'], ['releases', '--json']]) {
      const r = await run(a, args);
      expectNoSecret(r, args.join(' '));
    }
    for (const s of SECRETS) {
      expect(filesContaining(a.appRoot, s), `files under the app root holding ${s}`).toEqual([]);
      // but the runtime's desired state: it must keep what it restarts instances and probes them
      // with (their environment, the health path with its token); it is the owner's alone (0600)
      expect(filesContaining(a.home, s).filter((f) => f !== 'runtime/state.json'), `files under DEPLOYER_HOME holding ${s}`).toEqual([]);
    }
    expect((statSync(join(a.runtimeDir, 'state.json')).mode & 0o777).toString(8)).toBe('600');
    // Deployer's own files are private: $DEPLOYER_HOME, the runtime's files, the app's state
    expect((statSync(a.home).mode & 0o777).toString(8)).toBe('700');
    expect(openToOthers(a.runtimeDir), 'runtime files others can read').toEqual([]);
    expect(openToOthers(join(a.appRoot, '.deploy_state')), 'state files others can read').toEqual([]);
    expect((statSync(join(a.appRoot, '.deploy_state')).mode & 0o777).toString(8)).toBe('700');
  });
});
