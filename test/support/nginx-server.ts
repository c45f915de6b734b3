// A real nginx (Debian package nginx-light) for the nginx router's tests: its own config, pid
// file, logs and temp paths under a temp dir, one worker, a server on a loopback port proxying
// to $deployer_<upstream> and logging Deployer's JSON format; run in the foreground as our child,
// stopped by that pid. Plus small loopback backends that answer their own name.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { emptyNginxState, renderNginxConfig } from '../../src/routers/nginx-config.js';
import { nginxConf } from '../fronts/nginx-conf.mjs';
import { onPath } from './prometheus.js';

export const NGINX = onPath('nginx');
export const NGINX_MISSING = 'nginx is not installed (Debian package `nginx-light`)';

/** In CI a missing component is a failure, elsewhere a loud skip: whether `file` must skip. */
export function skipWithoutNginx(file: string): boolean {
  const skip = NGINX === null && process.env.CI !== 'true';
  if (skip) console.warn(`\n*** SKIPPING ${file}: ${NGINX_MISSING} ***\n`);
  return skip;
}

/** An nginx we started, by pid. */
export class NginxServer {
  log = '';
  readonly configFile: string;
  readonly accessLog: string;
  /** the command line of this nginx; append -t or -s reload */
  readonly base: string;

  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly upstream: string,
    readonly child: ChildProcess,
  ) {
    this.configFile = join(dir, 'deployer', `${upstream}.conf`);
    this.accessLog = join(dir, 'access.log');
    this.base = `nginx -p ${dir} -e ${join(dir, 'error.log')} -c ${join(dir, 'nginx.conf')}`;
  }

  /** Where start() puts the Deployer-owned file: `<dir>/deployer/<upstream>.conf`. */
  static deployerFile(dir: string, upstream = 'shop'): string {
    return join(dir, 'deployer', `${upstream}.conf`);
  }

  /**
   * Writes the config (and an empty Deployer file, so nginx can start, unless `o.deployerFile` is
   * false: then the file must be there already, as `deployer router init` writes it) and starts nginx.
   */
  static start(dir: string, port: number, upstream = 'shop', o: { deployerFile?: boolean } = {}): NginxServer {
    const deployer = NginxServer.deployerFile(dir, upstream);
    mkdirSync(join(dir, 'deployer'), { recursive: true });
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    if (o.deployerFile !== false) writeFileSync(deployer, renderNginxConfig(emptyNginxState(), upstream, upstream));
    writeFileSync(join(dir, 'nginx.conf'), nginxConf({ dir, port, upstream, includes: [deployer] }));
    // the same, including Deployer's file twice: nginx refuses it ("duplicate upstream"), whatever the file holds
    writeFileSync(join(dir, 'broken.conf'), nginxConf({ dir, port, upstream, includes: [deployer, deployer] }));
    const child = spawn(NGINX ?? 'nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const n = new NginxServer(dir, port, upstream, child);
    const keep = (d: Buffer) => (n.log = (n.log + d.toString('utf8')).slice(-8000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return n;
  }

  get testCommand(): string {
    return `${this.base} -t`;
  }
  get reloadCommand(): string {
    return `${this.base} -s reload`;
  }
  /** a test_command nginx fails on with its own message */
  get brokenTestCommand(): string {
    return `nginx -p ${this.dir} -e ${join(this.dir, 'error.log')} -c ${join(this.dir, 'broken.conf')} -t`;
  }

  /** SIGQUIT (graceful) to our pid, SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGQUIT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

/** A backend on a loopback port answering its name: `/slow?ms=N` after N ms, `/fail` with a 500. */
export interface NameBackend {
  name: string;
  port: number;
  /** requests it is answering now */
  inFlight(): number;
  close(): Promise<void>;
}

export async function nameBackend(name: string): Promise<NameBackend> {
  let inFlight = 0;
  const server: Server = createServer((req, res) => {
    inFlight++;
    res.on('close', () => inFlight--);
    const url = new URL(req.url ?? '/', 'http://x');
    const answer = () => {
      res.writeHead(url.pathname === '/fail' ? 500 : 200, { 'content-type': 'text/plain' });
      res.end(name);
    };
    if (url.pathname === '/slow') setTimeout(answer, Number(url.searchParams.get('ms') ?? 1000));
    else answer();
  });
  // longer than nginx's upstream keepalive_timeout (60 s): nginx, not the app, closes idle connections
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    name,
    port: (server.address() as AddressInfo).port,
    inFlight: () => inFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
