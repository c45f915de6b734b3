// Readers of HAProxy's answers: `show stat` (CSV, by header name) and `show servers state`
// (space-separated, by header name), and the per-pool counters and live view built from them.
import type { LiveTarget, LiveTargetState, PoolTargets, PoolTraffic } from './types.js';

export interface StatRow {
  /** the row's fields by the CSV header's names (pxname, svname, scur, status, weight, hrsp_2xx...) */
  [field: string]: string;
}

/** The rows of an answer whose header line is `# name<sep>name...`, each by the header's names. */
function headedRows(text: string, sep: string): StatRow[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const head = lines.findIndex((l) => l.startsWith('# '));
  if (head === -1) return [];
  const names = lines[head]!.slice(2).split(sep);
  return lines.slice(head + 1).map((l) => {
    const cells = l.split(sep);
    const row: StatRow = {};
    names.forEach((n, i) => {
      if (n) row[n] = cells[i] ?? '';
    });
    return row;
  });
}

/** The rows of a `show stat` answer (header line `# pxname,svname,...`). */
export function parseStat(csv: string): StatRow[] {
  return headedRows(csv, ',');
}

/** The server rows of one backend, by server name. */
export function serverRows(rows: StatRow[], backend: string): Map<string, StatRow> {
  return new Map(rows.filter((r) => r.pxname === backend && r.svname !== 'BACKEND' && r.svname !== 'FRONTEND').map((r) => [r.svname!, r]));
}

const num = (v: string | undefined) => (v ? Number(v) || 0 : 0);

export interface ServerState {
  name: string;
  addr: string;
  port: number;
  /** srv_admin_state bits: 0x01 forced maint, 0x02 inherited maint, 0x04 config maint (`disabled`), 0x08 forced drain, 0x10 inherited drain, 0x20/0x40 maint from DNS/health */
  admin: number;
  /** srv_op_state: 0 stopped, 1 starting, 2 running, 3 stopping */
  op: number;
  /** the weight set by config or `set server ... weight` */
  uweight: number;
}

/** The servers of a `show servers state <backend>` answer (null when HAProxy says it has no such backend). */
export function parseServersState(text: string): ServerState[] | null {
  if (/Can't find backend/i.test(text)) return null;
  return headedRows(text, ' ').map((r) => ({ name: r.srv_name!, addr: r.srv_addr!, port: num(r.srv_port), admin: num(r.srv_admin_state), op: num(r.srv_op_state), uweight: num(r.srv_uweight) }));
}

export type AdminState = 'ready' | 'drain' | 'maint';

export function adminState(bits: number): AdminState {
  if (bits & 0x67) return 'maint';
  if (bits & 0x18) return 'drain';
  return 'ready';
}

/** A server's state from its `show stat` status: UP / "no check" in rotation, DRAIN / NOLB draining, MAINT / DOWN out. */
export function targetState(status: string | undefined): LiveTargetState {
  const s = (status ?? '').toUpperCase();
  if (s.startsWith('DRAIN') || s.startsWith('NOLB')) return 'draining';
  if (s.startsWith('UP') || s === 'NO CHECK') return 'ready';
  return 'down';
}

/** The router's health verdict from check_status: empty when the server has no check. */
export function targetHealth(checkStatus: string | undefined): LiveTarget['health'] {
  const c = (checkStatus ?? '').replace(/^\* ?/, '');
  if (c === '') return null;
  if (/^L[4-7]OK/.test(c)) return 'healthy';
  if (c === 'INI' || c === 'UNK') return 'unknown';
  return 'unhealthy';
}

/** A server's share of new traffic: its weight while in rotation, else 0. */
export function liveWeight(row: StatRow | undefined): number {
  return row !== undefined && targetState(row.status) === 'ready' ? num(row.weight) : 0;
}

/**
 * Cumulative counters per pool, summed over its servers. Requests by class from hrsp_*; `errors`
 * from econ + eresp: connections a server refused and responses it broke, counted even when
 * `option redispatch` saved the client on another server (a canary that refuses connections must
 * fail its analysis). No latency: HAProxy only gives rtime, an average over the last 1024
 * requests, which cannot become a cumulative sum or a histogram, so latency.count stays 0 and the
 * latency metrics are inconclusive (capabilities.latency is false).
 */
export function poolTraffic(pools: PoolTargets[], rows: Map<string, StatRow>): Record<string, PoolTraffic> {
  const out: Record<string, PoolTraffic> = {};
  for (const p of pools) {
    const requests = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, errors: 0 };
    for (const t of p.targets) {
      const r = rows.get(t.id);
      if (!r) continue;
      for (const c of ['1xx', '2xx', '3xx', '4xx', '5xx'] as const) requests[c] += num(r[`hrsp_${c}`]);
      requests.errors += num(r.econ) + num(r.eresp);
    }
    out[p.name] = { requests, latency: { boundsMs: [], counts: [0], sumMs: 0, count: 0 }, samples: { seq: 0, latencyMs: [] } };
  }
  return out;
}
