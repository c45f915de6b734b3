// Several `deployer runtime start` at once over a stale daemon lock: exactly one daemon runs,
// and every starter reports that one.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesOfHome, RuntimeApp } from './support/runtime-app.js';
import { waitFor } from './support/net.js';

let app: RuntimeApp;
beforeAll(async () => {
  app = await RuntimeApp.create('v1', 1);
});
afterAll(async () => {
  expect(await app.cleanup()).toEqual([]);
});

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

/** The runtime daemons of this home that are alive (by their command line). */
function daemons(): number[] {
  return processesOfHome(app.home).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('runtimed.js');
    } catch {
      return false;
    }
  });
}

const STARTERS = 4;
const ROUNDS = 3;

describe('runtime start racing over a stale daemon lock', () => {
  it(`starts exactly one daemon, ${ROUNDS} rounds of ${STARTERS} starters`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      mkdirSync(app.runtimeDir, { recursive: true, mode: 0o700 });
      writeFileSync(join(app.runtimeDir, 'daemon.lock'), JSON.stringify({ pid: await deadPid() }));
      const results = await Promise.all(Array.from({ length: STARTERS }, () => app.run(['runtime', 'start', '--json'], 60_000)));
      for (const r of results) expect(r.code, r.stderr).toBe(0);
      const pids = new Set(results.map((r) => r.json!.pid as number));
      expect(pids.size, `round ${round}: starters saw daemons ${[...pids].join(', ')}`).toBe(1);
      // the losers exit at once; the one left is the one every starter talked to
      const left = await waitFor(() => {
        const d = daemons();
        return d.length <= 1 ? d : undefined;
      }, `round ${round}: the extra daemons to exit (running: ${daemons().join(', ')})`, 10_000).catch(() => daemons());
      expect(left, `round ${round}`).toEqual([...pids]);
      expect(app.daemonLock()?.pid).toBe([...pids][0]);
      const stop = await app.run(['runtime', 'stop'], 60_000);
      expect(stop.code, stop.stderr).toBe(0);
      expect(await waitFor(() => (daemons().length === 0 ? true : undefined), 'the daemon to stop', 10_000)).toBe(true);
    }
  });

  it('is not blocked by another program holding the name the directory alone would give', async () => {
    mkdirSync(app.runtimeDir, { recursive: true, mode: 0o700 });
    const st = statSync(app.runtimeDir);
    const squatter = createServer();
    await new Promise<void>((r) => squatter.listen(`\0deployer-runtime-${createHash('sha256').update(`${st.dev}:${st.ino}`).digest('hex').slice(0, 32)}`, r));
    try {
      const r = await app.run(['runtime', 'start', '--json'], 60_000);
      expect(r.code, r.stderr).toBe(0);
      expect(daemons()).toEqual([r.json!.pid]);
      expect(statSync(join(app.runtimeDir, 'daemon.key')).mode & 0o777).toBe(0o600);
      expect((await app.run(['runtime', 'stop'], 60_000)).code).toBe(0);
    } finally {
      squatter.close();
    }
  });
});
