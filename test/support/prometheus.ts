// A real Prometheus (Debian package `prometheus`) for tests: started by pid on a loopback port with
// a temp TSDB, scraping one target every second; stopped by the same pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function onPath(bin: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return join(dir, bin);
    } catch {
      // not here
    }
  }
  return null;
}

export const PROMETHEUS = onPath('prometheus');
export const PROMETHEUS_MISSING = 'prometheus is not installed (Debian package `prometheus`; `sh scripts/setup.sh` installs it)';
/** In CI a missing component is a failure, elsewhere a loud skip: whether `file` must skip. */
export function skipWithoutPrometheus(file: string): boolean {
  const skip = PROMETHEUS === null && process.env.CI !== 'true';
  if (skip) console.warn(`\n*** SKIPPING ${file}: ${PROMETHEUS_MISSING} ***\n`);
  return skip;
}

/** A Prometheus we started, by pid, with the tail of its log for failure messages. */
export class PrometheusServer {
  log = '';
  private constructor(
    readonly child: ChildProcess,
    readonly url: string,
  ) {}

  static start(bin: string, dir: string, port: number, scrape: string): PrometheusServer {
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: deployer\n    static_configs:\n      - targets: ['${scrape}']\n`);
    const child = spawn(bin, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = new PrometheusServer(child, `http://127.0.0.1:${port}`);
    const keep = (d: Buffer) => (p.log = (p.log + d.toString('utf8')).slice(-8000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    return p;
  }

  /** The value of an instant query's first sample, or undefined (no data yet, or not answering). */
  async value(query: string): Promise<number | undefined> {
    if (this.child.exitCode !== null) throw new Error(`prometheus exited (${this.child.exitCode}): ${this.log.slice(-2000)}`);
    const res = await fetch(`${this.url}/api/v1/query?query=${encodeURIComponent(query)}`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
    const v = body.data?.result?.[0]?.value[1];
    return v === undefined ? undefined : Number(v);
  }

  /** SIGTERM to our pid, SIGKILL if it is still there after 10 s. */
  async stop(): Promise<void> {
    const { child } = this;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

