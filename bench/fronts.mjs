// The front proxies the router benchmarks deploy behind, as a user runs them: a real nginx and a
// real HAProxy (Debian packages), each with its own config, pid file and sockets under the
// benchmark's workspace, listening on loopback only, stopped by pid. The file Deployer owns in
// each is created by `deployer router init` (what the README tells a user to run once).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nginxConf } from '../test/fronts/nginx-conf.mjs';
import { sh } from './lib.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await sleep(20);
  }
}

const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** The manifest's router section for nginx, and how to start it once `deployer router init` wrote its file. */
export function nginxFront(dir, port, upstream) {
  mkdirSync(join(dir, 'tmp'), { recursive: true });
  const file = join(dir, 'deployer', `${upstream}.conf`);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConf({ dir, port, upstream, includes: [file], workerConnections: 4096, errorLevel: 'warn' }));
  const base = `nginx -p ${dir} -e ${join(dir, 'error.log')} -c ${conf}`;
  let child = null;
  return {
    yaml: `{ type: nginx, nginx: { config_file: ${file}, upstream: ${upstream}, test_command: "${base} -t -q", reload_command: "${base} -s reload", access_log: ${join(dir, 'access.log')} } }`,
    async start() {
      child = spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf], { stdio: 'ignore' });
      await until('nginx to write its pid file', () => {
        try {
          return Number(readFileSync(join(dir, 'nginx.pid'), 'utf8').trim()) || null;
        } catch {
          return null;
        }
      });
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const pid = child.pid;
      child.kill('SIGQUIT');
      await until('nginx to exit', () => !alive(pid), 15_000).catch(() => child.kill('SIGKILL'));
    },
  };
}

/** The same for HAProxy: its frontend's default_backend is the one Deployer owns, loaded with an extra -f. */
export function haproxyFront(dir, port, backend) {
  mkdirSync(join(dir, 'deployer'), { recursive: true });
  const main = join(dir, 'haproxy.cfg');
  const file = join(dir, 'deployer', `${backend}.cfg`);
  const sock = join(dir, 'admin.sock');
  const pidFile = join(dir, 'haproxy.pid');
  writeFileSync(
    main,
    ['global', `    stats socket ${sock} mode 600 level admin`, 'defaults', '    mode http', '    timeout connect 2s', '    timeout client 30s', '    timeout server 30s', '    option redispatch', '    retries 3', 'frontend fe', `    bind 127.0.0.1:${port}`, `    default_backend ${backend}`, ''].join('\n'),
  );
  const pids = new Set();
  const pid = () => {
    try {
      return Number(readFileSync(pidFile, 'utf8').trim()) || null;
    } catch {
      return null;
    }
  };
  return {
    yaml: `{ type: haproxy, haproxy: { admin_socket: ${sock}, backend: ${backend}, config_file: ${file} } }`,
    async start() {
      sh('haproxy', ['-D', '-f', main, '-f', file, '-p', pidFile]);
      pids.add(await until('haproxy to write its pid file', pid));
    },
    async stop() {
      const now = pid();
      if (now) pids.add(now);
      for (const p of pids) {
        try {
          process.kill(p, 'SIGTERM');
        } catch {
          continue;
        }
        await until(`haproxy ${p} to exit`, () => !alive(p), 15_000);
      }
    },
  };
}
