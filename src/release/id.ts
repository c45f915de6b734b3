import { UsageError } from '../errors.js';

const ID = /^(\d{8}_\d{6})(?:_(\d{1,4}))?$/;

/** Whether a string is a release id (`YYYYMMDD_HHMMSS` or with a `_N` suffix). Nothing else is. */
export function isReleaseId(s: string): boolean {
  return ID.test(s);
}

/** Refuses anything that is not a release id (so `../../etc` never reaches a path). */
export function assertReleaseId(s: string, what = 'release'): string {
  if (!isReleaseId(s)) throw new UsageError(`${what} "${s}" is not a release id (expected YYYYMMDD_HHMMSS, e.g. 20240117_110530)`);
  return s;
}

export function timestampId(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}_${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/** The id for a new release at `now`: `_2`, `_3`... when the second is taken. */
export function nextReleaseId(now: Date, taken: (id: string) => boolean): string {
  const base = timestampId(now);
  if (!taken(base)) return base;
  for (let n = 2; n < 10_000; n++) {
    const id = `${base}_${n}`;
    if (!taken(id)) return id;
  }
  throw new Error(`no free release id for ${base}`);
}

/** Oldest first. */
export function compareReleaseIds(a: string, b: string): number {
  const ma = ID.exec(a);
  const mb = ID.exec(b);
  if (!ma || !mb) return a < b ? -1 : a > b ? 1 : 0;
  if (ma[1] !== mb[1]) return ma[1]! < mb[1]! ? -1 : 1;
  return Number(ma[2] ?? 1) - Number(mb[2] ?? 1);
}
