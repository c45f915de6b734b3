// A sample app on Deployer's runtime (`service.manager: process`) behind a real nginx
// (`router.type: nginx`): the workspace of RuntimeApp, an nginx of our own started after
// `deployer router init` wrote the file it includes (as the README tells users to), and the
// checks the nginx deploy tests share.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { describeLoad, type LoadReport } from './load.js';
import { freePort, get, waitFor } from './net.js';
import { NGINX, NGINX_MISSING, NginxServer } from './nginx-server.js';
import { RuntimeApp, type ManifestOptions } from './runtime-app.js';

export interface NginxApp {
  app: RuntimeApp;
  nginx: NginxServer;
  /** the manifest with nginx's router section (and `test_command` replaced when given) */
  manifest(o?: ManifestOptions & { testCommand?: string }): string;
  /** writes that manifest as deploy.yml */
  write(o?: ManifestOptions & { testCommand?: string }): void;
  /** `deployer router init --json` the first time */
  init: Record<string, unknown>;
  stop(): Promise<void>;
}

/**
 * A workspace with its manifest written, `deployer router init` run (the file must not exist
 * before), then nginx started with that file and answering 502 (no server in rotation yet).
 */
export async function startNginxApp(o: ManifestOptions = {}): Promise<NginxApp> {
  if (!NGINX) throw new Error(`${NGINX_MISSING}; CI=true, so this fails instead of skipping`);
  const app = await RuntimeApp.create('v1', o.instances ?? 2);
  const dir = join(app.dir, 'nginx');
  const port = await freePort();
  const file = NginxServer.deployerFile(dir, app.name);
  mkdirSync(join(dir, 'deployer'), { recursive: true });
  const base = `nginx -p ${dir} -e ${join(dir, 'error.log')} -c ${join(dir, 'nginx.conf')}`;
  const manifest = (m: ManifestOptions & { testCommand?: string } = {}) =>
    app
      .manifestText({ ...o, ...m })
      .replace(
        /^router: .*$/m,
        `router: { type: nginx, health_interval: 100ms, nginx: { config_file: ${file}, test_command: "${m.testCommand ?? `${base} -t`}", reload_command: "${base} -s reload", access_log: ${join(dir, 'access.log')} } }`,
      );
  app.writeManifest = (m: ManifestOptions = {}) => {
    const text = manifest(m);
    writeFileSync(join(app.dir, 'deploy.yml'), text);
    return text;
  };
  app.writeManifest(o);
  expect(existsSync(file)).toBe(false);
  const init = await app.run(['router', 'init', '--json']);
  expect(init.code, init.stderr).toBe(0);
  const nginx = NginxServer.start(dir, port, app.name, { deployerFile: false });
  expect(nginx.configFile).toBe(file);
  expect(nginx.base).toBe(base);
  app.routerPort = port;
  await waitFor(async () => ((await get(port, '/')).status === 502 ? true : undefined), `nginx on ${port} to answer 502: ${nginx.log}`);
  return {
    app,
    nginx,
    manifest,
    write: (m = {}) => writeFileSync(join(app.dir, 'deploy.yml'), manifest(m)),
    init: init.json!,
    stop: async () => {
      try {
        expect(await app.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
      } finally {
        await nginx.stop();
      }
    },
  };
}

/** Zero failed requests (every answer 2xx, no socket error or timeout), with real traffic. */
export function expectNoFailure(r: LoadReport, min = 100): void {
  expect(r.non2xx + r.errors + r.timeouts, describeLoad(r)).toBe(0);
  expect(r.total, describeLoad(r)).toBeGreaterThanOrEqual(min);
  expect(r.stoppedBy, describeLoad(r)).toBe('stop');
}

/** nginx serves `version` only (polled, then `n` fresh requests), and `current` names a release of it. */
export async function expectServing(a: RuntimeApp, version: string, n = 30): Promise<string> {
  await a.waitServing(version, 20_000);
  expect([...(await a.versions(n))]).toEqual([version]);
  const current = (await a.status()).current as string;
  expect(readFileSync(join(a.appRoot, 'releases', current, 'VERSION'), 'utf8').trim()).toBe(version);
  return current;
}

/** No deploy lock or journal of an unfinished deploy left in the app's directory. */
export function expectNoLock(a: RuntimeApp): void {
  expect(existsSync(join(a.appRoot, '.deploy_state', 'deploy.lock'))).toBe(false);
  expect(existsSync(join(a.appRoot, '.deploy_state', 'journal.json'))).toBe(false);
}
