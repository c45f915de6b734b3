// Numbers and units as the reasons show them.

/** Three significant digits below 1000, whole numbers above: 20.3, 4.12, 0.000123, 312, 1235. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 1000) return String(Math.round(n));
  return String(Number(n.toPrecision(3)));
}

/** The unit a metric's name implies: `%` for rates, ` ms` for latencies, `/s` for request_rate. */
export function unitOf(name: string): string {
  if (name === 'request_rate') return '/s';
  if (name.endsWith('_rate')) return '%';
  if (name.endsWith('_ms')) return ' ms';
  return '';
}

export function withUnit(name: string, v: number): string {
  return `${fmt(v)}${unitOf(name)}`;
}

/** A p-value: two significant digits (`0.031`, `1.2e-7`). */
export function fmtP(p: number): string {
  return p !== 0 && p < 0.0001 ? p.toExponential(1) : String(Number(p.toPrecision(2)));
}

/** The last few non-empty lines of some output, on one line (at most `max` characters). */
export function tail(text: string, lines = 3, max = 300): string {
  const t = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .slice(-lines)
    .join(' | ');
  return t.length > max ? `…${t.slice(t.length - max + 1)}` : t;
}
