// `deploy --dry-run` and `rollback --dry-run` with router.type nginx: under each step that touches
// the router, what it would write (read from the file Deployer owns, as a new process finds it),
// test and reload; in --json as each step's `router`. A real nginx (started once) so the real
// deploys between the dry runs work; the dry runs themselves change nothing in its file.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/net.js';
import { NginxServer, skipWithoutNginx } from './support/nginx-server.js';
import { RuntimeApp } from './support/runtime-app.js';

const skip = skipWithoutNginx('test/dry-run-routers.test.ts');
let nginx: NginxServer;
let app: RuntimeApp;
let dir: string;

beforeAll(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'dry-ngx-'));
  nginx = NginxServer.start(dir, await freePort(), 'shop');
  app = await RuntimeApp.create('v1', 2);
  const router = `router:\n  type: nginx\n  nginx: { config_file: ${nginx.configFile}, upstream: shop, test_command: "${nginx.testCommand}", reload_command: "${nginx.reloadCommand}" }`;
  writeFileSync(join(app.dir, 'deploy.yml'), app.manifestText({ strategy: 'blue-green', instances: 2, smoke: false, warmupRequests: 0 }).replace(/^router: .*$/m, router));
}, 60_000);

afterAll(async () => {
  if (skip) return;
  const left = await app?.cleanup();
  await nginx?.stop();
  rmSync(dir, { recursive: true, force: true });
  expect(left ?? [], 'processes left running').toEqual([]);
}, 120_000);

type Step = Record<string, unknown> & { kind: string; router?: string[] };
const routerOf = (r: { json?: Record<string, unknown> }) => (r.json!.steps as Step[]).filter((s) => s.router).map((s) => [s.kind, s.router]);

describe.skipIf(skip)('--dry-run shows the router actions (nginx)', { timeout: 180_000 }, () => {
  const test = () => `test: ${nginx.testCommand}`;
  const reload = () => `reload: ${nginx.reloadCommand}`;
  const file = () => nginx.configFile;
  const ports = () => ({ b0: app.basePort, b1: app.basePort + 1, g0: app.basePort + 100, g1: app.basePort + 101 });

  it('a first deploy: the pool declared into the file `router init` wrote, then all traffic to it', async () => {
    const init = await app.run(['router', 'init', '--json']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.json).toEqual({ router: 'nginx', file: file(), written: false });
    const before = readFileSync(file(), 'utf8');

    const dry = await app.run(['deploy', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    const { b0, b1 } = ports();
    expect(routerOf(dry)).toEqual([
      ['start_instances', [`write ${file()}: upstream shop (blue 0%): server 127.0.0.1:${b0} down (blue-0), server 127.0.0.1:${b1} down (blue-1)`, test(), reload()]],
      ['switch_traffic', [`write ${file()}: upstream shop (blue 100%): server 127.0.0.1:${b0} weight=1 (blue-0), server 127.0.0.1:${b1} weight=1 (blue-1)`, test(), reload()]],
    ]);
    expect(readFileSync(file(), 'utf8')).toBe(before);

    // for people: indented under the step
    const human = await app.run(['deploy', '--dry-run']);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stderr).toMatch(new RegExp(`\\. switch traffic to blue .*\\n {8}write ${file().replace(/[.]/g, '\\.')}: upstream shop \\(blue 100%\\)`));
    expect(human.stderr).toContain(`\n        ${reload()}\n`);
  });

  it('after a deploy: from what the file holds, green joins, takes the traffic, blue stays warm; a rollback moves it back', async () => {
    const v1 = await app.deploy();
    expect(v1.code, v1.stderr).toBe(0);
    app.setVersion('v2');
    const before = readFileSync(file(), 'utf8');
    const { b0, b1, g0, g1 } = ports();
    const dry = await app.run(['deploy', '--dry-run', '--json']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(routerOf(dry)).toEqual([
      [
        'start_instances',
        [
          `write ${file()}: upstream shop (blue 100%, green 0%): server 127.0.0.1:${b0} weight=1 (blue-0), server 127.0.0.1:${b1} weight=1 (blue-1), server 127.0.0.1:${g0} down (green-0), server 127.0.0.1:${g1} down (green-1)`,
          test(),
          reload(),
        ],
      ],
      [
        'switch_traffic',
        [
          `write ${file()}: upstream shop (blue 0%, green 100%): server 127.0.0.1:${b0} down (blue-0), server 127.0.0.1:${b1} down (blue-1), server 127.0.0.1:${g0} weight=1 (green-0), server 127.0.0.1:${g1} weight=1 (green-1)`,
          test(),
          reload(),
        ],
      ],
    ]);
    // the warm stop of blue (scale_down_delay) changes nothing in nginx now
    expect((dry.json!.steps as Step[]).find((s) => s.kind === 'stop_instances')).not.toHaveProperty('router');
    expect(readFileSync(file(), 'utf8')).toBe(before);

    const v2 = await app.deploy();
    expect(v2.code, v2.stderr).toBe(0);
    const back = await app.run(['rollback', '--dry-run', '--json']);
    expect(back.code, back.stderr).toBe(0);
    expect(routerOf(back)).toContainEqual([
      'switch_traffic',
      [
        `write ${file()}: upstream shop (blue 100%, green 0%): server 127.0.0.1:${b0} weight=1 (blue-0), server 127.0.0.1:${b1} weight=1 (blue-1), server 127.0.0.1:${g0} down (green-0), server 127.0.0.1:${g1} down (green-1)`,
        test(),
        reload(),
      ],
    ]);
  });
});
