import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { get, waitFor } from './support/net.js';
import { Sandbox } from './support/sandbox.js';

let sb: Sandbox;
let app: ChildProcess | undefined;
afterEach(() => {
  app?.kill('SIGKILL');
  app = undefined;
  sb.cleanup();
});

describe('service manager: signal', () => {
  it('sends the configured signal to the pid in pid_file after switching, and reload_command runs after it', async () => {
    sb = new Sandbox('signal');
    await sb.writeApp('v1');
    // the app runs outside Deployer (as under a process manager of its own); it counts SIGHUPs
    app = spawn(process.execPath, [join(sb.src, 'server.cjs')], { env: { ...process.env, PORT: String(sb.port) }, stdio: 'ignore' });
    app.on('exit', () => {});
    await waitFor(async () => ((await get(sb.port, '/health')).status === 200 ? true : undefined), 'the app to listen');
    mkdirSync(join(sb.appRoot, 'shared'), { recursive: true });
    writeFileSync(join(sb.appRoot, 'shared', 'app.pid'), `${app.pid}\n`);
    writeFileSync(
      join(sb.dir, 'deploy.yml'),
      `name: testapp
source: { type: local, path: ./app }
service:
  manager: signal
  pid_file: shared/app.pid
  signal: HUP
  base_port: ${sb.port}
  reload_command: echo reloaded >> "$DEPLOY_APP_ROOT/reloads.log"
health_checks:
  - http://127.0.0.1:{port}/health
`,
    );
    const r = await sb.run(['deploy', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(readlinkSync(join(sb.appRoot, 'current'))).toBe(`releases/${r.json!.release}`);
    await waitFor(async () => ((await get(sb.port, '/reloads')).body === '1' ? true : undefined), 'the app to count one SIGHUP');
    expect(readFileSync(join(sb.appRoot, 'reloads.log'), 'utf8')).toBe('reloaded\n');
    const again = await sb.run(['deploy', '--json']);
    expect(again.code, again.stderr).toBe(0);
    await waitFor(async () => ((await get(sb.port, '/reloads')).body === '2' ? true : undefined), 'a second SIGHUP');
  });

  it('a pid file naming a dead process fails the activation; going back cannot signal it either: exit 4', async () => {
    sb = new Sandbox('signal');
    await sb.writeApp('v1');
    mkdirSync(join(sb.appRoot, 'shared'), { recursive: true });
    writeFileSync(
      join(sb.dir, 'deploy.yml'),
      `name: testapp
source: { type: local, path: ./app }
service: { manager: signal, pid_file: shared/app.pid }
`,
    );
    app = spawn(process.execPath, ['-e', "process.on('SIGHUP', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
    writeFileSync(join(sb.appRoot, 'shared', 'app.pid'), `${app.pid}\n`);
    const ok = await sb.run(['deploy', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    // now point it at a pid that is gone
    const dead = spawn('true');
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(join(sb.appRoot, 'shared', 'app.pid'), `${dead.pid}\n`);
    const r = await sb.run(['deploy', '--json']);
    // nothing serves: the previous release is current again, but no process took the signal
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(new RegExp(`process ${dead.pid} from .* is not running`));
    expect(r.stderr).toContain('manual intervention required');
    expect(readlinkSync(join(sb.appRoot, 'current'))).toBe(`releases/${ok.json!.release}`);
  });
});
