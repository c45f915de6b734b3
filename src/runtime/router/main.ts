// The router process: `node dist/router.js --control <unix-socket> [--metrics-listen host:port]`.
// Started by the runtime daemon, configured over the control socket; SIGTERM stops it gracefully.
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AdminListener } from './admin.js';
import { startControl } from './control.js';
import { RouterCore } from './core.js';
import { stderrLog } from './errors.js';

const USAGE = 'usage: router --control <unix-socket-path> [--metrics-listen host:port]';

async function main(): Promise<void> {
  let values: { control?: string; 'metrics-listen'?: string };
  try {
    ({ values } = parseArgs({ options: { control: { type: 'string' }, 'metrics-listen': { type: 'string' } }, strict: true }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  const controlPath = values.control;
  if (!controlPath) {
    process.stderr.write(`missing --control\n${USAGE}\n`);
    process.exit(2);
  }
  process.on('uncaughtException', (e) => {
    stderrLog('router.crash', { error: e.stack ?? String(e) });
    process.exit(1);
  });
  const core = new RouterCore({ log: stderrLog });
  const admin = new AdminListener(core);
  if (values['metrics-listen']) {
    try {
      await admin.set(values['metrics-listen']);
    } catch (e) {
      stderrLog('router.error', { error: (e as Error).message });
      process.exit(1);
    }
  }
  const control = await startControl(core, admin, controlPath);
  stderrLog('router.start', { pid: process.pid, control: controlPath, metricsListen: admin.address });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    stderrLog('router.stopping', { signal });
    control.close();
    control.closeAllConnections();
    void admin
      .set(null)
      .then(() => core.close(10_000))
      .finally(() => {
        rmSync(controlPath, { force: true });
        stderrLog('router.stopped', {});
        process.exit(0);
      });
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
