import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';
import { freePort, freePortRange, get } from './support/net.js';

/** The README's first command, as a user runs it: `npm run example` deploys examples/hello. */
describe('npm run example', () => {
  const home = realpathSync(mkdtempSync(join(tmpdir(), 'example-')));
  let port = 0;
  let basePort = 0;
  const run = (...args: string[]) =>
    spawnSync(process.execPath, [join(ROOT, 'scripts', 'example.mjs'), ...args], {
      cwd: ROOT,
      env: { ...process.env, DEPLOYER_HOME: home, HELLO_PORT: String(port), HELLO_BASE_PORT: String(basePort), CI: 'true' },
      encoding: 'utf8',
      timeout: 120_000,
    });
  afterAll(() => {
    const stop = run('stop');
    expect(stop.status, stop.stderr).toBe(0);
    rmSync(home, { recursive: true, force: true });
  });

  it('deploys the hello app on the runtime, prints its URL, and a second run ships a new release blue-green', async () => {
    port = await freePort();
    basePort = await freePortRange([0, 1, 100, 101]);
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    expect(first.stdout).toContain(`hello is live at http://127.0.0.1:${port}/`);
    const a = JSON.parse((await get(port, '/')).body) as { app: string; release: string; version: string };
    expect(a).toMatchObject({ app: 'hello', version: '1.0.0' });
    expect((await get(port, '/health')).body).toBe('ok\n');

    const second = run();
    expect(second.status, second.stderr).toBe(0);
    const b = JSON.parse((await get(port, '/')).body) as { release: string };
    expect(b.release).not.toBe(a.release);
    // blue-green: the first release ran in blue, the second in green; the old slot stays warm
    expect(a).toMatchObject({ instance: expect.stringMatching(/^blue-/) });
    expect(b).toMatchObject({ instance: expect.stringMatching(/^green-/) });
    expect(readlinkSync(join(home, 'apps', 'hello', 'active'))).toBe('green');
    expect(readFileSync(join(home, 'apps', 'hello', 'current', '.release_meta'), 'utf8')).toContain(b.release);
  });
});
