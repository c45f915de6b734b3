/**
 * Durations as the manifest writes them: a number of seconds (`30`), or a string of one or more
 * number+unit parts (`30s`, `5m`, `1m30s`, `500ms`, `1.5h`). A bare numeric string is seconds.
 */

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** The longest duration Deployer accepts: timers in Node overflow past 2^31-1 ms (~24.8 days). */
export const MAX_DURATION_MS = 2_147_483_647;

/** Milliseconds, or null when the text is not a duration. */
export function parseDuration(value: number | string): number | null {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? Math.round(value * 1000) : null;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  if (text === '') return null;
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const m = PART.exec(text);
    if (!m || m.index !== start) return null;
    total += Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
  }
  return Math.round(total);
}

/** 1500 -> "1.5s", 90000 -> "1m30s", 250 -> "250ms" */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(ms < 10_000 ? 2 : 1))}s`;
  // round once to whole seconds, then split: 119.5 s is "2m", never "1m60s"
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}` || '0s';
}
