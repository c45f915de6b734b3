// Header and cookie routes (RouteRule): a request that matches the first rule it matches goes to
// that rule's pool whatever the weights, while the pool has a healthy target. Looked at only for
// apps that have rules: an app without routes pays nothing per request.
import type { RouteRule } from '../model.js';
import { hasRoutable } from './select.js';
import type { AppRt, PoolRt } from './state.js';

export interface CompiledRoute {
  /** lower-case header name, or null for a cookie rule */
  header: string | null;
  cookie: string | null;
  value: string | null;
  pool: string;
}

/** The rules in the shape the matcher wants; null when there are none. */
export function compileRoutes(rules: readonly RouteRule[] | undefined): CompiledRoute[] | null {
  if (rules === undefined || rules.length === 0) return null;
  return rules.map((r) => ({ header: r.header === undefined ? null : r.header.toLowerCase(), cookie: r.cookie ?? null, value: r.value ?? null, pool: r.pool }));
}

/** Why the rules cannot be used (exactly one of header and cookie per rule), or null. */
export function routesProblem(rules: readonly RouteRule[] | undefined): string | null {
  for (const [i, r] of (rules ?? []).entries()) {
    if ((r.header === undefined) === (r.cookie === undefined)) return `routes.${i}: give exactly one of header and cookie`;
  }
  return null;
}

/**
 * Whether a header line of `fwd` (the forwarded header lines, each ending in CRLF) is named
 * `name` (lower case) and, when `value` is given, has exactly that value (OWS trimmed).
 */
export function headerMatches(fwd: string, name: string, value: string | null): boolean {
  const len = name.length;
  let p = 0;
  while (p < fwd.length) {
    let eol = fwd.indexOf('\r\n', p);
    if (eol === -1) eol = fwd.length;
    if (fwd.charCodeAt(p + len) === 58 /* : */ && eqLowerAt(fwd, p, name)) {
      if (value === null) return true;
      let vs = p + len + 1;
      let ve = eol;
      while (vs < ve && isOws(fwd.charCodeAt(vs))) vs++;
      while (ve > vs && isOws(fwd.charCodeAt(ve - 1))) ve--;
      if (ve - vs === value.length && fwd.startsWith(value, vs)) return true;
    }
    p = eol + 2;
  }
  return false;
}

function isOws(c: number): boolean {
  return c === 32 || c === 9;
}

function eqLowerAt(s: string, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    let c = s.charCodeAt(at + i);
    if (c >= 65 && c <= 90) c |= 0x20;
    if (c !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Whether the Cookie header has a cookie `name` (the first of that name) with, when given, exactly `value` as sent. */
export function cookieMatches(header: string | null, name: string, value: string | null): boolean {
  if (header === null) return false;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) return value === null || header.slice(eq + 1, end).trim() === value;
    start = end + 1;
  }
  return false;
}

/** Whether a header rule names one of `names` (lower case). */
export function routesHeaderIn(routes: readonly CompiledRoute[], names: ReadonlySet<string>): boolean {
  for (const r of routes) if (r.header !== null && names.has(r.header)) return true;
  return false;
}

/** The pool of the first rule the request matches, or null. */
export function matchRoute(routes: readonly CompiledRoute[], fwd: string, cookie: string | null): string | null {
  for (const r of routes) {
    if (r.header !== null ? headerMatches(fwd, r.header, r.value) : cookieMatches(cookie, r.cookie!, r.value)) return r.pool;
  }
  return null;
}

/** The routed pool when it is there and has a healthy target, else null (normal selection). */
export function routedPool(app: AppRt, name: string): PoolRt | null {
  const i = app.poolIndex(name);
  const pool = i === -1 ? null : app.pools[i]!;
  return pool !== null && hasRoutable(pool, null) ? pool : null;
}
