// One line per interval for humans.
import { fmt } from './format.js';
import type { IntervalResult } from './types.js';

/** e.g. `interval 3 fail (10 s; canary 412 requests, baseline 3810): error_rate 20.3% > max 1; latency_p99_ms 4.2 ms ≤ max 500` */
export function summarize(r: IntervalResult): string {
  const traffic = `${fmt(r.durationMs / 1000)} s; canary ${r.canaryRequests} requests${r.baselineRequests === null ? '' : `, baseline ${r.baselineRequests}`}`;
  // the metrics that decided the verdict first
  const ordered = [...r.metrics.filter((m) => m.verdict === r.verdict), ...r.metrics.filter((m) => m.verdict !== r.verdict)];
  const detail = ordered.length === 0 ? 'no metrics' : ordered.map((m) => m.reason).join('; ');
  return `interval ${r.index} ${r.verdict} (${traffic}): ${detail}`;
}
