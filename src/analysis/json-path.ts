// `a.b[0].c` into a parsed JSON document.

export type PathLookup = { found: true; value: unknown } | { found: false; reason: string };

type Segment = string | number;

/** Parses `a.b[0].c` (an optional leading `$` or `$.`); null when it is not such a path. */
export function parsePath(path: string): Segment[] | null {
  const rest = path.startsWith('$') ? path.slice(1).replace(/^\./, '') : path;
  const segments: Segment[] = [];
  if (rest === '') return segments;
  for (const part of rest.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m || (m[1] === '' && m[2] === '')) return null;
    if (m[1] !== '') segments.push(m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) segments.push(Number(idx[1]));
  }
  return segments;
}

/** A short description of a JSON value, for reasons: `a string "abc"`, `an object with keys a, b`. */
export function describeJson(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) return 'an empty object';
    return `an object with keys ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}`;
  }
  if (typeof v === 'string') return `a string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v === 'number' ? 'the number' : typeof v === 'boolean' ? 'the boolean' : typeof v} ${String(v)}`;
}

function show(segments: Segment[]): string {
  return segments.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('') || '$';
}

export function lookupPath(doc: unknown, path: string): PathLookup {
  const segments = parsePath(path);
  if (!segments) return { found: false, reason: `invalid path ${JSON.stringify(path)} (expected something like a.b[0].c)` };
  let cur: unknown = doc;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!;
    const where = show(segments.slice(0, i)) === '$' ? 'the document' : show(segments.slice(0, i));
    if (typeof s === 'number') {
      if (!Array.isArray(cur)) return { found: false, reason: `${where} is ${describeJson(cur)}, not an array` };
      if (s >= cur.length) return { found: false, reason: `${where} has ${cur.length} elements, no [${s}]` };
      cur = cur[s];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return { found: false, reason: `${where} is ${describeJson(cur)}, not an object` };
      if (!Object.prototype.hasOwnProperty.call(cur, s)) return { found: false, reason: `${where} has no key ${JSON.stringify(s)} (${describeJson(cur)})` };
      cur = (cur as Record<string, unknown>)[s];
    }
  }
  return { found: true, value: cur };
}
