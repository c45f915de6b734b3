// A bounded load generator on loopback: N keep-alive connections, each sending GETs one after
// another, from start() until stop() (or a hard cap on time or count). It counts every answer
// by status, every socket error and timeout, and the versions the bodies name.
import { Agent, request } from 'node:http';
import { expect } from 'vitest';

export interface LoadOptions {
  port: number;
  path?: string;
  /** concurrent connections (default 4) */
  connections?: number;
  /** pause between two requests of one connection (default 5 ms): bounds the rate on a small machine */
  pauseMs?: number;
  /** per-request limit, longer than the router's unavailable_wait (default 20 s) */
  timeoutMs?: number;
  /** hard caps: the load stops by itself after this long (default 60 s) or this many requests (default 100k) */
  maxDurationMs?: number;
  maxRequests?: number;
  /** keep-alive connections (default true); false: a new connection per request */
  keepAlive?: boolean;
  /** the version a 2xx body names (default: the `version` of its JSON, else the trimmed body) */
  versionOf?: (body: string) => string;
  /**
   * Retry a GET once, on a new connection, when a reused keep-alive connection was closed under it
   * before any byte of the answer came (ECONNRESET, EPIPE): what browsers and most HTTP clients do
   * (RFC 9112 §9.3.1), and what a client of a proxy that closes idle connections on reload (nginx)
   * needs. Counted in `retried`, not as a failure. Default false.
   */
  retryStaleConnections?: boolean;
}

export interface LoadFailure {
  at: number;
  what: string;
}

export interface LoadReport {
  total: number;
  /** requests sent again after their reused connection closed before any answer (retryStaleConnections) */
  retried: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statuses: Record<string, number>;
  /** version -> requests that answered it */
  versions: Record<string, number>;
  /** the first failures (status and body, or the socket error), ms since start */
  failures: LoadFailure[];
  durationMs: number;
  /** performance.now() when the load started: `failures[].at` counts from it */
  startedAt: number;
  /** why it stopped: stop() was called, or a cap was reached first */
  stoppedBy: 'stop' | 'duration' | 'count';
  /** ms since start of the last answer of each version */
  lastSeen: Record<string, number>;
  firstSeen: Record<string, number>;
}

const defaultVersionOf = (body: string): string => {
  try {
    const j = JSON.parse(body) as { version?: unknown };
    if (typeof j.version === 'string') return j.version;
  } catch {
    // not JSON
  }
  return body.trim();
};

export class Load {
  private readonly o: Required<Omit<LoadOptions, 'versionOf'>> & { versionOf: (body: string) => string };
  private readonly agent: Agent;
  private running = false;
  private stoppedBy: LoadReport['stoppedBy'] = 'stop';
  private started = 0;
  private ended = 0;
  private workers: Promise<void>[] = [];
  private capTimer: NodeJS.Timeout | undefined;
  private readonly r: Omit<LoadReport, 'durationMs' | 'startedAt' | 'stoppedBy'> = {
    total: 0,
    retried: 0,
    ok: 0,
    non2xx: 0,
    errors: 0,
    timeouts: 0,
    statuses: {},
    versions: {},
    failures: [],
    lastSeen: {},
    firstSeen: {},
  };

  constructor(o: LoadOptions) {
    this.o = {
      path: '/',
      connections: 4,
      pauseMs: 5,
      timeoutMs: 20_000,
      maxDurationMs: 60_000,
      maxRequests: 100_000,
      keepAlive: true,
      retryStaleConnections: false,
      versionOf: defaultVersionOf,
      ...o,
    };
    this.agent = new Agent({ keepAlive: this.o.keepAlive, maxSockets: this.o.connections });
  }

  /** Requests answered so far (2xx or not) plus failures. */
  get total(): number {
    return this.r.total;
  }

  start(): this {
    if (this.running) throw new Error('the load is already running');
    this.running = true;
    this.started = performance.now();
    this.capTimer = setTimeout(() => this.halt('duration'), this.o.maxDurationMs);
    for (let i = 0; i < this.o.connections; i++) this.workers.push(this.worker());
    return this;
  }

  /** Waits until `n` requests have completed (so a test knows traffic flows before it acts). */
  async waitFor(n: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.r.total < n) {
      if (!this.running) throw new Error(`the load stopped (${this.stoppedBy}) after ${this.r.total} requests`);
      if (Date.now() > deadline) throw new Error(`only ${this.r.total} of ${n} requests within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Stops sending, waits for the requests in flight, and reports. */
  async stop(): Promise<LoadReport> {
    this.halt('stop');
    await Promise.all(this.workers);
    this.agent.destroy();
    return this.report();
  }

  report(): LoadReport {
    const end = this.ended || performance.now();
    return { ...structuredClone(this.r), durationMs: Math.round(end - this.started), startedAt: this.started, stoppedBy: this.stoppedBy };
  }

  private halt(why: LoadReport['stoppedBy']): void {
    if (!this.running) return;
    this.running = false;
    this.stoppedBy = why;
    this.ended = performance.now();
    clearTimeout(this.capTimer);
  }

  private since(): number {
    return Math.round(performance.now() - this.started);
  }

  private fail(what: string): void {
    if (this.r.failures.length < 20) this.r.failures.push({ at: this.since(), what });
  }

  private async worker(): Promise<void> {
    while (this.running) {
      if (this.r.total >= this.o.maxRequests) {
        this.halt('count');
        break;
      }
      await this.once();
      if (this.o.pauseMs > 0 && this.running) await new Promise((r) => setTimeout(r, this.o.pauseMs));
    }
  }

  /**
   * @param retry whether a request lost with its stale keep-alive connection is sent again
   * @param fresh on a new connection of its own, not one of the pool's (its other idle sockets were
   * likely closed by the same reload)
   */
  private once(retry = this.o.retryStaleConnections, fresh = false): Promise<void> {
    return new Promise((resolve) => {
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        this.r.total++;
        resolve();
      };
      const req = request(
        { host: '127.0.0.1', port: this.o.port, path: this.o.path, agent: fresh ? false : this.agent, timeout: this.o.timeoutMs, headers: this.o.keepAlive && !fresh ? {} : { connection: 'close' } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (body += d));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            this.r.statuses[status] = (this.r.statuses[status] ?? 0) + 1;
            if (status >= 200 && status < 300) {
              this.r.ok++;
              const v = this.o.versionOf(body);
              this.r.versions[v] = (this.r.versions[v] ?? 0) + 1;
              const t = this.since();
              this.r.firstSeen[v] ??= t;
              this.r.lastSeen[v] = t;
            } else {
              this.r.non2xx++;
              this.fail(`HTTP ${status}: ${body.slice(0, 200).trim()}`);
            }
            done();
          });
          res.on('error', (e) => {
            if (settled) return;
            this.r.errors++;
            this.fail(`response error: ${e.message}`);
            done();
          });
        },
      );
      req.on('timeout', () => {
        if (settled) return;
        this.r.timeouts++;
        req.destroy(new Error(`timeout after ${this.o.timeoutMs} ms`));
      });
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (settled) return;
        if (retry && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) {
          settled = true;
          this.r.retried++;
          resolve(this.once(false, true));
          return;
        }
        this.r.errors++;
        this.fail(`socket error: ${e.code ?? ''} ${e.message}${req.reusedSocket ? ' (reused connection)' : ' (new connection)'}`);
        done();
      });
      req.end();
    });
  }
}

/** Starts a load on the port (see Load); call stop() for the report. */
export function startLoad(o: LoadOptions): Load {
  return new Load(o).start();
}

/** A short description for assertion messages. */
export function describeLoad(r: LoadReport): string {
  return `${r.total} requests in ${r.durationMs} ms (stopped by ${r.stoppedBy}): ${r.ok} ok, ${r.non2xx} non-2xx, ${r.errors} errors (${r.timeouts} timeouts); statuses ${JSON.stringify(r.statuses)}; versions ${JSON.stringify(r.versions)}; failures ${JSON.stringify(r.failures)}`;
}

export interface UnderLoad<T> {
  result: T;
  report: LoadReport;
  /** requests completed while `fn` ran */
  during: number;
  /** how long `fn` ran */
  opMs: number;
}

/**
 * Runs `fn` with the load running throughout: the load starts, `warmup` requests complete, `fn`
 * runs, then the load goes on until at least `minTotal` requests completed, and stops.
 */
export async function underLoad<T>(o: LoadOptions & { warmup?: number; minTotal?: number }, fn: () => Promise<T>): Promise<UnderLoad<T>> {
  const load = startLoad(o);
  try {
    await load.waitFor(o.warmup ?? 30);
    const before = load.total;
    const t0 = performance.now();
    const result = await fn();
    const opMs = Math.round(performance.now() - t0);
    const after = load.total;
    await load.waitFor(Math.max(o.minTotal ?? 0, after + 20)).catch(() => undefined);
    const report = await load.stop();
    return { result, report, during: after - before, opMs };
  } catch (e) {
    await load.stop();
    throw e;
  }
}

/** No request failed, and there was real traffic. */
export function expectClean(r: LoadReport, min = 200): void {
  expect(r.non2xx + r.errors, describeLoad(r)).toBe(0);
  expect(r.total, describeLoad(r)).toBeGreaterThanOrEqual(min);
  expect(r.stoppedBy, describeLoad(r)).toBe('stop');
}

/** No request failed, and traffic flowed while the operation itself ran. */
export function expectCleanDuring(u: UnderLoad<unknown>, min = 50): void {
  expectClean(u.report);
  expect(u.during, `requests during the operation (${u.opMs} ms); ${describeLoad(u.report)}`).toBeGreaterThanOrEqual(min);
}
