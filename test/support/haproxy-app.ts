// A sample app on Deployer's runtime (`service.manager: process`) behind a real HAProxy
// (`router.type: haproxy`): the RuntimeApp workspace with its manifest's router section pointing
// at the HAProxy this file starts, whose frontend's default_backend is the one Deployer owns.
// What HAProxy holds is read over its admin socket, as an operator would.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { SocketApi } from '../../src/routers/haproxy-api.js';
import { parseServersState, type ServerState } from '../../src/routers/haproxy-stat.js';
import { HaproxyServer } from './haproxy-server.js';
import { freePort, get, waitFor } from './net.js';
import { parseAnswer, RuntimeApp, type ManifestOptions } from './runtime-app.js';

export interface HaproxyRouterKeys {
  admin_socket?: string;
  backend?: string;
  config_file?: string;
}

export class HaproxyApp {
  private constructor(
    readonly app: RuntimeApp,
    readonly hx: HaproxyServer,
  ) {}

  /** A workspace with the app at `version` and a (not yet started) HAProxy in its own dir; the manifest is written. */
  static async create(version: string, o: ManifestOptions = {}): Promise<HaproxyApp> {
    const app = await RuntimeApp.create(version, 2);
    const dir = join(app.dir, 'hx');
    mkdirSync(dir, { recursive: true });
    const hx = new HaproxyServer(dir, await freePort(), app.name);
    // the load and `versions()` go through HAProxy's frontend
    app.routerPort = hx.port;
    const h = new HaproxyApp(app, hx);
    h.writeManifest(o);
    return h;
  }

  /** The manifest of `o`, with router.type haproxy (the keys given replace the defaults: this HAProxy's socket and file). */
  writeManifest(o: ManifestOptions = {}, keys: HaproxyRouterKeys = {}): void {
    const k = { admin_socket: this.hx.socket, config_file: this.hx.configFile, ...keys };
    const haproxy = Object.entries(k)
      .map(([key, v]) => `${key}: ${v}`)
      .join(', ');
    const text = this.app.manifestText(o).replace(/^router: .*$/m, `router: { type: haproxy, health_interval: 100ms, haproxy: { ${haproxy} } }`);
    expect(text).toContain('type: haproxy');
    writeFileSync(join(this.app.dir, 'deploy.yml'), text);
  }

  /** `show servers state` of Deployer's backend, by server name (sorted). */
  async servers(): Promise<ServerState[]> {
    const s = parseServersState(await new SocketApi(this.hx.socket).run(`show servers state ${this.app.name}`));
    if (!s) throw new Error(`HAProxy has no backend ${this.app.name}`);
    return s.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The servers that can take traffic (running, no maint/drain bit, weight > 0). */
  async inRotation(): Promise<string[]> {
    return (await this.servers()).filter((s) => s.admin === 0 && s.uweight > 0).map((s) => s.name);
  }

  /** Each pool's share (%) of the weight of the servers in rotation; a server is `<pool>-<n>`. */
  async poolShares(): Promise<Record<string, number>> {
    const live = (await this.servers()).filter((s) => s.admin === 0 && s.uweight > 0);
    const total = live.reduce((n, s) => n + s.uweight, 0);
    const shares: Record<string, number> = {};
    for (const s of live) {
      const pool = s.name.replace(/-\d+$/, '');
      shares[pool] = (shares[pool] ?? 0) + (s.uweight / total) * 100;
    }
    return shares;
  }

  /** `n` fresh GETs through HAProxy: versions answered, by count; anything but a 200 with the app's JSON throws. */
  async sample(n = 20): Promise<Record<string, number>> {
    const seen: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      const r = await get(this.hx.port, '/', 15_000);
      const a = parseAnswer(r.body);
      if (r.status !== 200 || !a) throw new Error(`HAProxy answered ${r.status}: ${r.body.slice(0, 200)}`);
      seen[a.version] = (seen[a.version] ?? 0) + 1;
    }
    return seen;
  }

  /** The version of the release `current` names (from its VERSION file, as the app reads it). */
  async currentVersion(): Promise<string> {
    const current = (await this.app.status()).current;
    expect(current, 'current').toEqual(expect.any(String));
    return currentVersionOf(this.app, current as string);
  }

  /**
   * HAProxy serves `version` only (polled: up to a few seconds after a deploy returns, then `n`
   * requests in a row), every server in rotation runs it, and `current` names a release of it.
   */
  async expectOnly(version: string, n = 30): Promise<void> {
    await waitFor(async () => {
      const v = await this.sample(10);
      return Object.keys(v).join() === version ? true : undefined;
    }, `HAProxy to serve only ${version}`, 15_000, 100);
    expect(Object.keys(await this.sample(n))).toEqual([version]);
    expect(await this.currentVersion()).toBe(version);
  }
}

/** The VERSION a release of the app holds. */
export function currentVersionOf(app: RuntimeApp, release: string): string {
  return readFileSync(join(app.appRoot, 'releases', release, 'VERSION'), 'utf8').trim();
}
