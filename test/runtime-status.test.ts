// `deployer runtime start|stop|status` and `deployer status` on the embedded runtime.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './support/net.js';
import { belongsToHome, processesOfHome, RuntimeApp } from './support/runtime-app.js';

let app: RuntimeApp | undefined;
afterEach(async () => {
  const a = app;
  app = undefined;
  if (a) expect(await a.cleanup(), 'processes left running after `deployer runtime stop`').toEqual([]);
});

describe('deployer runtime start|stop|status', { timeout: 180_000 }, () => {
  it('reports the daemon before and after start and stop, and stop leaves no process behind', async () => {
    const a = (app = await RuntimeApp.create('v1', 2));
    expect(await a.runtimeStatus()).toEqual({ running: false });
    const text0 = await a.run(['runtime', 'status']);
    expect(text0.code).toBe(0);
    expect(text0.stdout + text0.stderr).toMatch(/not running/);

    const start = await a.run(['runtime', 'start', '--json']);
    expect(start.code, start.stderr).toBe(0);
    expect(start.json).toMatchObject({ running: true, started: true, apps: [] });
    const pid = start.json!.pid as number;
    const routerPid = start.json!.routerPid as number;
    expect(pid).toBeGreaterThan(0);
    expect(routerPid).toBeGreaterThan(0);
    expect(a.daemonLock()?.pid).toBe(pid);
    for (const f of ['ctl.sock', 'router.sock', 'state.json', 'daemon.lock', 'daemon.log', 'router.log']) expect(existsSync(join(a.runtimeDir, f)), f).toBe(true);

    const st = await a.runtimeStatus();
    expect(st).toMatchObject({ running: true, pid, routerPid, apps: [] });
    const again = await a.run(['runtime', 'start', '--json']);
    expect(again.json).toMatchObject({ running: true, started: false, pid });
    const text = await a.run(['runtime', 'status']);
    expect(text.stdout + text.stderr).toContain(`runtime daemon pid ${pid}, router pid ${routerPid}`);

    const stop = await a.run(['runtime', 'stop', '--json']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.json).toEqual({ running: false, stopped: true });
    expect(await a.runtimeStatus()).toEqual({ running: false });
    await waitFor(() => (!belongsToHome(pid, a.home) && !belongsToHome(routerPid, a.home) ? true : undefined), 'the daemon and router to exit', 15_000);
    expect(processesOfHome(a.home)).toEqual([]);
    expect(existsSync(join(a.runtimeDir, 'daemon.lock'))).toBe(false);
    const stop2 = await a.run(['runtime', 'stop', '--json']);
    expect(stop2.json).toEqual({ running: false, stopped: false });
  });

  it('`runtime stop` stops the daemon, the router and every instance of a deployed app', async () => {
    const a = (app = await RuntimeApp.create('v1', 2));
    a.writeManifest({ strategy: 'blue-green', instances: 2 });
    const dep = await a.deploy();
    expect(dep.code, dep.stderr).toBe(0);
    const st = await a.runtimeStatus();
    const all = processesOfHome(a.home);
    // daemon, router, and per instance a group (sh + the app)
    expect(all).toContain(st.pid);
    expect(all).toContain(st.routerPid);
    expect(all.length).toBeGreaterThanOrEqual(4);
    const { stop, leftovers } = await a.stopRuntime();
    expect(stop.code, stop.stderr).toBe(0);
    expect(leftovers).toEqual([]);
    expect(processesOfHome(a.home)).toEqual([]);
    await expect(a.answer()).rejects.toThrow();

    // the next deploy starts the runtime again (with the app as it was), and goes on from there
    a.setVersion('v2');
    const again = await a.deploy();
    expect(again.code, again.stderr).toBe(0);
    expect([...(await a.versions(20))]).toEqual(['v2']);
  });

  it('`deployer status` shows the pools, their weights and the instances, as text and JSON', async () => {
    const a = (app = await RuntimeApp.create('v1', 2));
    a.writeManifest({ strategy: 'blue-green', instances: 2 });
    const none = await a.run(['status']);
    expect(none.code, none.stderr).toBe(0);
    expect(none.stdout + none.stderr).toMatch(/runtime:\s+the runtime daemon is not running/);

    const dep = await a.deploy();
    expect(dep.code, dep.stderr).toBe(0);
    const release = dep.json!.release as string;
    const host = await a.status();
    expect(host.current).toBe(release);
    expect(host.runtime).toMatchObject({ name: 'rtapp', listen: { host: '127.0.0.1', port: a.routerPort }, weights: { blue: 100 } });
    expect(host.runtime!.instances.map((i) => [i.id, i.pool, i.port, i.release, i.state, i.traffic, i.restarts])).toEqual([
      ['blue-0', 'blue', a.basePort, release, 'running', 'healthy', 0],
      ['blue-1', 'blue', a.basePort + 1, release, 'running', 'healthy', 0],
    ]);

    a.setVersion('v2');
    const dep2 = await a.deploy();
    expect(dep2.code, dep2.stderr).toBe(0);
    const release2 = dep2.json!.release as string;
    const text = await a.run(['status']);
    expect(text.code, text.stderr).toBe(0);
    const out = text.stdout + text.stderr;
    expect(out).toContain(`rtapp: router http://127.0.0.1:${a.routerPort}`);
    expect(out).toMatch(/pool blue: weight 0, stops at \S+/);
    expect(out).toMatch(/pool green: weight 100/);
    const view = await a.view();
    for (const i of view.instances) {
      const line = out.split('\n').find((l) => l.trim().startsWith(i.id));
      expect(line, `a line for ${i.id} in:\n${out}`).toBeDefined();
      expect(line).toContain(`:${i.port}`);
      expect(line).toContain(i.pool === 'green' ? release2 : release);
      expect(line).toContain(`running pid ${i.pid}`);
      expect(line).toContain('healthy');
    }
  });
});
