// {{app}}, {{pool}}, {{release}} and {{interval}} in queries, URLs, headers.

export interface TemplateVars {
  app: string;
  pool: string;
  release: string;
  /** the interval's length in milliseconds; rendered as whole seconds, e.g. `10s` */
  intervalMs: number;
}

/** An interval as PromQL wants a range: whole seconds, at least 1s (`10s`). */
export function intervalLabel(ms: number): string {
  return `${Math.max(1, Math.round(ms / 1000))}s`;
}

/**
 * Fills the placeholders (spaces inside the braces allowed); unknown ones are left as written.
 * `encode` is applied to each value (encodeURIComponent for URLs).
 */
export function fillTemplate(text: string, vars: TemplateVars, encode: (v: string) => string = (v) => v): string {
  const values: Record<string, string> = { app: vars.app, pool: vars.pool, release: vars.release, interval: intervalLabel(vars.intervalMs) };
  return text.replace(/\{\{\s*(app|pool|release|interval)\s*\}\}/g, (_m, key: string) => encode(values[key]!));
}
