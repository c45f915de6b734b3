import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, type CliResult } from './support/cli.js';
import { freePortRange, get, waitFor } from './support/net.js';

/**
 * kill -9 of the deployer at every step boundary of a blue-green deploy on the runtime (and
 * right after the router switched). After each: the router serves a complete version with no
 * error, doctor --repair leaves `current` and the router agreeing, no instance of an undone slot
 * is left running, and the next deploy succeeds.
 */

const SERVER = `const fs = require('fs');
const v = fs.readFileSync(__dirname + '/VERSION', 'utf8').trim();
const s = require('http').createServer((q, r) => r.end(q.url === '/health' ? 'ok' : v));
s.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { s.close(() => process.exit(0)); s.closeIdleConnections(); });
`;

class RuntimeSandbox {
  readonly dir = realpathSync(mkdtempSync(join(tmpdir(), 'crt-')));
  readonly home = join(this.dir, 'h');
  constructor(
    readonly base: number,
    readonly listen: number,
    readonly strategy: 'blue-green' | 'rolling' = 'blue-green',
  ) {
    mkdirSync(join(this.dir, 'app'), { recursive: true });
    writeFileSync(join(this.dir, 'app', 'server.js'), SERVER);
    writeFileSync(
      join(this.dir, 'deploy.yml'),
      `name: crashbg
source: { type: local, path: ./app }
deployment: { strategy: ${strategy}, blue_green: { scale_down_delay: 10m }, rolling: { batch_delay: 0s, drain_timeout: 2s } }
service: { manager: process, command: node server.js, instances: 2, base_port: ${base}, stop_timeout: 5s }
router: { type: embedded, listen: ${listen}, health_interval: 100ms }
health_checks:
  - { url: "http://127.0.0.1:{port}/health", timeout: 10s, interval: 50ms }
hooks:
  build: ["true"]
  post_deploy: ["true"]
`,
    );
  }
  get appRoot() {
    return join(this.home, 'apps', 'crashbg');
  }
  version(v: string) {
    writeFileSync(join(this.dir, 'app', 'VERSION'), v);
  }
  run(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return cli(args, { cwd: this.dir, env: { DEPLOYER_HOME: this.home, ...env }, timeoutMs: 90_000 });
  }
  current(): string {
    const id = readlinkSync(join(this.appRoot, 'current')).split('/').pop()!;
    expect(existsSync(join(this.appRoot, 'releases', id, '.release_meta')), `current -> ${id} must be a complete release`).toBe(true);
    return id;
  }
  releaseVersion(id: string): string {
    return readFileSync(join(this.appRoot, 'releases', id, 'VERSION'), 'utf8').trim();
  }
  async cleanup(): Promise<void> {
    const st = await this.run(['runtime', 'status', '--json']);
    const pids = st.json?.running ? [st.json.pid as number, st.json.routerPid as number, ...((st.json.apps as { instances: { pid: number | null }[] }[]) ?? []).flatMap((a) => a.instances.map((i) => i.pid))] : [];
    await this.run(['runtime', 'stop']);
    for (const pid of pids) {
      if (!pid) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

interface AppView {
  weights: Record<string, number>;
  instances: { id: string; pool: string; release: string; state: string; traffic: string }[];
}

async function appView(sb: RuntimeSandbox): Promise<AppView> {
  const st = await sb.run(['status', '--json']);
  expect(st.code, st.stderr).toBe(0);
  return (st.json!.hosts as { runtime: AppView }[])[0]!.runtime;
}

/** v1 deployed, the deploy of v2 killed at `point`; traffic never stopped (every answer a whole version); then doctor --repair. */
async function crashThenRepair(sb: RuntimeSandbox, point: string): Promise<void> {
  sb.version('v1');
  const first = await sb.run(['deploy', '--json']);
  expect(first.code, first.stderr).toBe(0);
  sb.version('v2');
  const crashed = await sb.run(['deploy', '--json'], { DEPLOYER_TEST_CRASH: point });
  expect(crashed.signal, `${point}: ${crashed.stderr}`).toBe('SIGKILL');
  for (let i = 0; i < 5; i++) {
    const r = await get(sb.listen, '/');
    expect(r.status).toBe(200);
    expect(['v1', 'v2']).toContain(r.body);
  }
  const rep = await sb.run(['doctor', '--repair', '--json']);
  expect(rep.code, `${point}: ${rep.stdout}${rep.stderr}`).toBe(0);
}

/** The crash points: every step boundary from the first that touches the runtime, and inside the switch. */
async function crashPoints(strategy: 'blue-green' | 'rolling'): Promise<string[]> {
  const probe = new RuntimeSandbox(await freePortRange([0, 1, 100, 101]), await freePortRange([0]), strategy);
  try {
    probe.version('v1');
    if (strategy === 'rolling') expect((await probe.run(['deploy'])).code).toBe(0);
    const dry = await probe.run(['deploy', '--dry-run', '--json']);
    if (dry.code !== 0) throw new Error(dry.stderr);
    const steps = dry.json!.steps as { kind: string }[];
    const first = steps.findIndex((s) => s.kind === (strategy === 'rolling' ? 'drain_target' : 'start_instances'));
    const points: string[] = [];
    for (let i = first; i < steps.length; i++) points.push(`step:${i}:before`);
    if (strategy === 'rolling') return [...points, `step:${first}:after`];
    const sw = steps.findIndex((s) => s.kind === 'switch_traffic');
    return [...points, 'switch:routed', `step:${sw}:after`];
  } finally {
    await probe.cleanup();
  }
}
const points = await crashPoints('blue-green');
const rollingPoints = await crashPoints('rolling');

describe('kill -9 during a blue-green deploy on the runtime', () => {
  it('covers every runtime step of the plan', () => {
    expect(points.length).toBeGreaterThanOrEqual(10);
  });

  it.each(points)('crash at %s: the router serves a whole version, repair makes current and traffic agree, next deploy succeeds', async (point) => {
    const sb = new RuntimeSandbox(await freePortRange([0, 1, 100, 101]), await freePortRange([0]));
    try {
      await crashThenRepair(sb, point);
      expect(existsSync(join(sb.appRoot, '.deploy_state', 'journal.json'))).toBe(false);

      // after the repair, what current names is what the router serves, and only that slot has weight
      const live = sb.current();
      const want = sb.releaseVersion(live);
      expect((await get(sb.listen, '/')).body).toBe(want);
      const view = await appView(sb);
      const weighted = Object.entries(view.weights).filter(([, w]) => w > 0).map(([p]) => p);
      expect(weighted).toHaveLength(1);
      expect(view.instances.filter((i) => i.pool === weighted[0]).every((i) => i.release === live)).toBe(true);
      const doc = await sb.run(['doctor', '--json']);
      expect(doc.code, doc.stdout).toBe(0);
      expect((doc.json!.findings as { message: string }[]).map((f) => f.message)).toContain(`runtime: pool ${weighted[0]} serves ${live} on 127.0.0.1:${sb.listen}`);
      // an undone deploy leaves no instance of its slot behind
      if (want === 'v1') expect(view.instances.filter((i) => i.pool === 'green')).toEqual([]);

      sb.version('v3');
      const next = await sb.run(['deploy', '--json']);
      expect(next.code, next.stderr).toBe(0);
      await waitFor(async () => ((await get(sb.listen, '/')).body === 'v3' ? true : undefined), 'v3 to serve', 10_000);
    } finally {
      await sb.cleanup();
    }
  });
});

describe('kill -9 during a rolling deploy on the runtime', () => {
  it('covers every batch', () => {
    expect(rollingPoints.length).toBeGreaterThanOrEqual(4);
  });

  it.each(rollingPoints)('crash at %s: every instance serves a whole version, repair puts them all on current', async (point) => {
    const sb = new RuntimeSandbox(await freePortRange([0, 1, 100, 101]), await freePortRange([0]), 'rolling');
    try {
      await crashThenRepair(sb, point);
      const live = sb.current();
      const view = await appView(sb);
      expect(view.instances.map((i) => i.release)).toEqual([live, live]);
      const want = sb.releaseVersion(live);
      await waitFor(async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 6; i++) seen.add((await get(sb.listen, '/')).body);
        return seen.size === 1 && seen.has(want) ? true : undefined;
      }, `only ${want} to serve`, 10_000);
      sb.version('v3');
      expect((await sb.run(['deploy'])).code).toBe(0);
    } finally {
      await sb.cleanup();
    }
  });
});
