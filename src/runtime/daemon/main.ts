// The runtime daemon: `node dist/runtimed.js --home DIR`. Started (detached) by `deployer
// runtime start` or by a deploy that needs it; one per $DEPLOYER_HOME.
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_SOCKET_PATH, runtimePaths } from '../paths.js';
import { Supervisor } from '../supervisor/index.js';
import { controlServer } from './control.js';
import { Daemon } from './daemon.js';
import { takeDaemonLock } from './lock.js';
import { RouterProcess } from './router-process.js';
import { readState } from './state.js';

const log = (msg: string) => process.stdout.write(`${new Date().toISOString()} ${msg}\n`);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { home: { type: 'string' } } });
  if (!values.home) throw new Error('usage: runtimed --home DIR');
  const paths = runtimePaths(values.home);
  if (paths.control.length > MAX_SOCKET_PATH) throw new Error(`${paths.control} is longer than a unix socket path may be; use a shorter DEPLOYER_HOME`);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  // state.json holds the instances' environments (secrets): the directory is the owner's only
  chmodSync(paths.dir, 0o700);
  if (!(await takeDaemonLock(paths.dir, paths.lock))) {
    log('another runtime daemon holds the lock; exiting');
    return;
  }

  const state = await readState(paths.state);
  // the supervisor and the router report to the daemon, which is built from them
  const ref: { daemon?: Daemon } = {};
  const supervisor = new Supervisor({
    onEvent: (e) => {
      if (e.type === 'exited') {
        log(`${e.app}/${e.id}: exited (${e.signal ?? `code ${e.code}`}); restarting in ${e.restartInMs} ms`);
        void router.call('POST', `/apps/${encodeURIComponent(e.app)}/targets/${encodeURIComponent(e.id)}/down`).catch(() => undefined);
      } else if (e.type === 'restart-failed') {
        log(`${e.app}/${e.id}: restart failed: ${e.message}; next try in ${e.restartInMs} ms`);
      } else if (e.type === 'log-error') {
        log(`${e.app}/${e.id}: log ${e.file}: ${e.message}`);
      } else if (e.type === 'started') {
        log(`${e.app}/${e.id}: running as pid ${e.pid}`);
        void ref.daemon?.persist().catch(() => undefined);
      }
    },
  });
  const router = new RouterProcess({
    script: fileURLToPath(new URL('./router.js', import.meta.url)),
    controlSocket: paths.router,
    logFile: paths.routerLog,
    record: state.router,
    onStarted: async () => {
      await ref.daemon?.pushAll();
    },
    onRecord: (r) => {
      state.router = r;
      void ref.daemon?.persist().catch(() => undefined);
    },
    log,
  });
  const daemon = (ref.daemon = new Daemon({ state, statePath: paths.state, supervisor, router, log }));
  await daemon.restore();
  await router.ensure();

  rmSync(paths.control, { force: true });
  let closing = false;
  const server = controlServer(daemon, () => {
    if (closing) return;
    closing = true;
    log('shutdown requested: stopping instances and the router');
    void (async () => {
      server.close();
      await daemon.shutdown().catch((e: Error) => log(`shutdown: ${e.message}`));
      rmSync(paths.control, { force: true });
      rmSync(paths.lock, { force: true });
      process.exit(0);
    })();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(paths.control, resolve);
  });
  chmodSync(paths.control, 0o600);
  log(`runtime daemon pid ${process.pid} listening on ${paths.control}`);

  // SIGTERM/SIGINT: the daemon goes, traffic stays: the router and the app keep running and the
  // next daemon adopts them. `deployer runtime stop` is what stops everything.
  const leave = (sig: string) => {
    if (closing) return;
    closing = true;
    log(`${sig}: leaving the router and instances running`);
    server.close();
    rmSync(paths.control, { force: true });
    // finish the change in progress and write the state, so the next daemon finds every process
    void daemon.quiesce().finally(() => {
      router.detach();
      supervisor.detach();
      rmSync(paths.lock, { force: true });
      process.exit(0);
    });
  };
  process.on('SIGTERM', () => leave('SIGTERM'));
  process.on('SIGINT', () => leave('SIGINT'));
}

main().catch((e: unknown) => {
  log(`runtime daemon failed: ${(e as Error).stack ?? String(e)}`);
  process.exit(1);
});
