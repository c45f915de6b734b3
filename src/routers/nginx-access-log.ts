// Deployer's JSON access log (log_format deployer_<upstream>, see nginx-config.ts): a pure line
// parser, and a reader that picks up where it stopped (from the last complete line; a file shorter
// than that offset was rotated or truncated, so it starts over).
import type { HostFs } from '../hosts/transport.js';
import type { RequestRecord } from './traffic-accumulator.js';

export interface AccessLogEntry {
  /** the last upstream tried ("a, b" after a retry, "a : b" across internal redirects), or null */
  upstreamAddr: string | null;
  status: number;
  latencyMs: number;
  /** nginx answered by itself: 502/503/504 with no response header from the last upstream */
  noResponse: boolean;
}

/** The last of nginx's comma / colon separated per-attempt values ("-" or empty: null). */
export function lastAttempt(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const last = v.split(/, | : /).pop()!.trim();
  return last === '' || last === '-' ? null : last;
}

/** One log line, or null when it is not one of Deployer's (blank, cut, another format). */
export function parseAccessLogLine(line: string): AccessLogEntry | null {
  let j: unknown;
  try {
    j = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof j !== 'object' || j === null) return null;
  const o = j as Record<string, unknown>;
  const status = Number(o.status);
  const seconds = Number(o.request_time);
  if (!Number.isInteger(status) || typeof o.request_time !== 'string' || !Number.isFinite(seconds)) return null;
  const gotHeader = lastAttempt(o.upstream_header_time) !== null;
  return {
    upstreamAddr: lastAttempt(o.upstream_addr),
    status,
    latencyMs: Math.round(seconds * 1000 * 1000) / 1000,
    noResponse: (status === 502 || status === 503 || status === 504) && !gotHeader,
  };
}

/** Complete lines in `buf`, and how many bytes they take (a cut last line waits for the next read). */
export function completeLines(buf: Buffer): { lines: string[]; consumed: number } {
  const end = buf.lastIndexOf(0x0a);
  if (end < 0) return { lines: [], consumed: 0 };
  return { lines: buf.subarray(0, end).toString('utf8').split('\n'), consumed: end + 1 };
}

const CHUNK = 1024 * 1024;

/**
 * Reads an access log incrementally. The first read starts at the end of the file (what came
 * before is history, not this process's counters); later reads return the records since.
 */
export class AccessLogReader {
  private offset: number | null = null;
  /** lines that were not Deployer's format: a hint that the server block logs another format */
  skipped = 0;

  constructor(
    private readonly fs: HostFs,
    private readonly path: string,
  ) {}

  /** Requests logged since the last call, attributed to a pool by `poolOf(address)`; unknown addresses are left out. */
  async read(poolOf: (addr: string) => string | undefined): Promise<RequestRecord[]> {
    const st = await this.fs.stat(this.path);
    if (st === null) {
      this.offset = 0;
      return [];
    }
    if (this.offset === null) {
      this.offset = st.size;
      return [];
    }
    if (st.size < this.offset) this.offset = 0;
    const out: RequestRecord[] = [];
    for (;;) {
      const buf = await this.fs.readRange(this.path, this.offset, CHUNK);
      if (buf === null || buf.length === 0) break;
      const { lines, consumed } = completeLines(buf);
      if (consumed === 0) {
        // one line longer than a chunk: not ours, skip past it once it is complete
        if (buf.length < CHUNK) break;
        this.offset += buf.length;
        this.skipped++;
        continue;
      }
      this.offset += consumed;
      for (const line of lines) {
        if (line.trim() === '') continue;
        const e = parseAccessLogLine(line);
        if (e === null) {
          this.skipped++;
          continue;
        }
        const pool = e.upstreamAddr === null ? undefined : poolOf(e.upstreamAddr);
        if (pool !== undefined) out.push({ pool, status: e.status, latencyMs: e.latencyMs, noResponse: e.noResponse });
      }
      if (buf.length < CHUNK) break;
    }
    return out;
  }
}
