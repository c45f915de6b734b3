import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, cliSync, type CliOptions, type CliResult } from './cli.js';
import { freePort } from './net.js';

const SERVER = `const http = require('http');
const fs = require('fs');
const version = fs.readFileSync(__dirname + '/VERSION', 'utf8').trim();
const port = Number(process.env.PORT);
let reloads = 0;
process.on('SIGHUP', () => { reloads++; });
http.createServer((req, res) => {
  if (req.url === '/health') return res.end(fs.existsSync(__dirname + '/UNHEALTHY') ? (res.statusCode = 503, 'sick') : 'ok');
  if (req.url === '/reloads') return res.end(String(reloads));
  res.end(version);
}).listen(port, '127.0.0.1');
`;

/** Stops the app in the pid file, starts this release's server in the background, records its pid. */
const RESTART = `#!/bin/sh
PIDFILE="$DEPLOY_APP_ROOT/shared/app.pid"
if [ -f "$PIDFILE" ]; then
  old=$(cat "$PIDFILE")
  kill "$old" 2>/dev/null
  # wait until it is gone (a zombie counts as gone: nobody may reap it in a container)
  i=0; while [ -r /proc/$old/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$old/status && [ $i -lt 100 ]; do sleep 0.02; i=$((i+1)); done
fi
nohup node server.cjs >> "$DEPLOY_APP_ROOT/shared/app.log" 2>&1 < /dev/null &
echo $! > "$PIDFILE"
`;

/**
 * A temp workspace for one test: an app source dir, a DEPLOYER_HOME, a manifest, and the CLI
 * bound to them. `stopApp()` stops the background app by the pid it recorded.
 */
export class Sandbox {
  readonly dir: string;
  readonly src: string;
  readonly home: string;
  port = 0;

  constructor(name = 'dpl') {
    this.dir = realpathSync(mkdtempSync(join(tmpdir(), `${name}-`)));
    this.src = join(this.dir, 'app');
    this.home = join(this.dir, 'home');
    mkdirSync(this.src, { recursive: true });
  }

  get appRoot(): string {
    return join(this.home, 'apps', 'testapp');
  }

  /** Writes the sample HTTP app (serving `version`) and its restart script. */
  async writeApp(version: string): Promise<void> {
    if (!this.port) this.port = await freePort();
    writeFileSync(join(this.src, 'server.cjs'), SERVER);
    writeFileSync(join(this.src, 'VERSION'), `${version}\n`);
    mkdirSync(join(this.src, 'bin'), { recursive: true });
    writeFileSync(join(this.src, 'bin', 'restart'), RESTART);
    chmodSync(join(this.src, 'bin', 'restart'), 0o755);
  }

  setVersion(version: string): void {
    writeFileSync(join(this.src, 'VERSION'), `${version}\n`);
  }

  /** A manifest for the sample app: recreate, script manager, an HTTP health check. `extra` is appended. */
  manifest(extra = '', opts: { checks?: boolean } = {}): string {
    const checks = opts.checks === false ? '' : `health_checks:\n  - { url: "http://127.0.0.1:{port}/health", timeout: 3s, interval: 50ms, attempt_timeout: 1s }\n`;
    const text = `name: testapp
source: { type: local, path: ./app }
service:
  manager: script
  base_port: ${this.port}
  restart_command: ./bin/restart
environment:
  PORT: "${this.port}"
${checks}${extra}`;
    writeFileSync(join(this.dir, 'deploy.yml'), text);
    return text;
  }

  writeManifest(text: string, file = 'deploy.yml'): string {
    writeFileSync(join(this.dir, file), text);
    return join(this.dir, file);
  }

  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return { DEPLOYER_HOME: this.home, HOME: this.dir, ...extra };
  }

  run(args: string[], o: Partial<CliOptions> = {}): Promise<CliResult> {
    return cli(args, { cwd: this.dir, ...o, env: this.env(o.env) });
  }

  runSync(args: string[], o: Partial<CliOptions> = {}): CliResult {
    return cliSync(args, { cwd: this.dir, ...o, env: this.env(o.env) });
  }

  appPid(): number | undefined {
    const f = join(this.appRoot, 'shared', 'app.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
  }

  stopApp(): void {
    const pid = this.appPid();
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  cleanup(): void {
    this.stopApp();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
