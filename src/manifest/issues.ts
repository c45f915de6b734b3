import type { z } from 'zod';
import { didYouMean } from './suggest.js';

export interface RawIssue {
  path: (string | number)[];
  message: string;
  /** the issue is about this key itself (point at the key's line, not its value) */
  atKey?: boolean;
}

type Issue = z.core.$ZodIssue;
type AnySchema = z.core.$ZodType;

/** Turns zod's issues into one plain sentence each, with "did you mean" where it helps. */
export function explainIssues(issues: readonly Issue[], data: unknown, root: AnySchema, base: (string | number)[] = []): RawIssue[] {
  const all = explain(issues, data, root, base);
  // zod's own safe-integer bound says nothing next to the key's real bound: keep the latter
  const key = (i: RawIssue) => i.path.join('.');
  return all.filter((i) => !/9007199254740991/.test(i.message) || !all.some((o) => o !== i && key(o) === key(i)));
}

function explain(issues: readonly Issue[], data: unknown, root: AnySchema, base: (string | number)[]): RawIssue[] {
  const out: RawIssue[] = [];
  for (const issue of issues) {
    const path = [...base, ...(issue.path as (string | number)[])];
    const actual = valueAt(data, path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const known = objectKeysAt(root, path);
        for (const key of issue.keys) {
          const hint = didYouMean(key, known);
          out.push({ path: [...path, key], atKey: true, message: `unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}` });
        }
        break;
      }
      case 'invalid_union': {
        const branch = pickBranch(issue.errors, actual);
        if (branch) out.push(...explain(branch, data, root, path));
        else if (issue.errors.length === 0 && 'options' in issue) {
          out.push({ path, message: `must be one of ${(issue.options as unknown[]).map((o) => JSON.stringify(o)).join(', ')}, got ${describe(actual)}` });
        } else out.push({ path, message: `${expectedOfUnion(issue.errors)}, got ${describe(actual)}` });
        break;
      }
      case 'invalid_type':
        out.push({ path, message: actual === undefined ? 'is required' : `expected ${article(issue.expected)}, got ${describe(actual)}` });
        break;
      case 'invalid_value': {
        const values = issue.values.map((v) => JSON.stringify(v));
        const hint = typeof actual === 'string' ? didYouMean(actual, issue.values.map(String)) : undefined;
        out.push({
          path,
          message: `must be ${values.length === 1 ? values[0] : `one of ${values.join(', ')}`}, got ${describe(actual)}${hint ? ` (did you mean "${hint}"?)` : ''}`,
        });
        break;
      }
      case 'too_small':
        out.push({ path, message: sizeMessage('at least', issue.origin, issue.minimum, issue.inclusive, actual) });
        break;
      case 'too_big':
        out.push({ path, message: sizeMessage('at most', issue.origin, issue.maximum, issue.inclusive, actual) });
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

function sizeMessage(kind: string, origin: string, limit: number | bigint, inclusive: boolean | undefined, actual: unknown): string {
  const n = Number(limit);
  if (origin === 'string') return `must be ${kind} ${n} character${n === 1 ? '' : 's'} long`;
  if (origin === 'array') return `must have ${kind} ${n} entr${n === 1 ? 'y' : 'ies'}`;
  const bound = inclusive === false ? (kind === 'at least' ? `more than ${n}` : `less than ${n}`) : `${kind} ${n}`;
  return `must be ${bound}, got ${describe(actual)}`;
}

/** From the failed branches of a union, the one whose type matches the value (so its errors make sense). */
function pickBranch(branches: Issue[][], actual: unknown): Issue[] | undefined {
  const typeOk = branches.filter((b) => !b.some((i) => i.path.length === 0 && i.code === 'invalid_type'));
  if (typeOk.length === 0) return undefined;
  // prefer the branch with the fewest root-level problems
  return typeOk.sort((a, b) => a.length - b.length)[0] ?? (actual === undefined ? undefined : typeOk[0]);
}

function expectedOfUnion(branches: Issue[][]): string {
  const expected = branches.flatMap((b) => b.filter((i) => i.code === 'invalid_type' && i.path.length === 0).map((i) => article((i as { expected: string }).expected)));
  return expected.length ? `expected ${[...new Set(expected)].join(' or ')}` : 'has the wrong shape';
}

function article(expected: string): string {
  switch (expected) {
    case 'int':
      return 'a whole number';
    case 'number':
      return 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return 'a list';
    case 'object':
    case 'record':
      return 'a map of keys';
    default:
      return expected;
  }
}

export function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a map';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  return String(v);
}

export function valueAt(data: unknown, path: readonly (string | number)[]): unknown {
  let cur = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}

/** Unwraps optional/default/pipe/union wrappers down to an object schema, following a path. */
function objectKeysAt(root: AnySchema, path: readonly (string | number)[]): string[] {
  let cur: AnySchema | undefined = root;
  for (const seg of path) {
    cur = cur && child(unwrap(cur), seg);
  }
  const obj = cur && unwrap(cur);
  const def = obj?._zod.def as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(s: AnySchema): AnySchema {
  let cur = s;
  for (let i = 0; i < 10; i++) {
    const def = cur._zod.def as { type: string; innerType?: AnySchema; in?: AnySchema; options?: AnySchema[] };
    if ((def.type === 'optional' || def.type === 'default' || def.type === 'prefault' || def.type === 'nullable') && def.innerType) cur = def.innerType;
    else if (def.type === 'pipe' && def.in) cur = def.in;
    else if (def.type === 'union' && def.options) {
      const obj = def.options.find((o) => ['object', 'array'].includes((unwrap(o)._zod.def as { type: string }).type));
      if (!obj) return cur;
      cur = obj;
    } else return cur;
  }
  return cur;
}

function child(s: AnySchema, seg: string | number): AnySchema | undefined {
  const def = s._zod.def as { type: string; shape?: Record<string, AnySchema>; element?: AnySchema; valueType?: AnySchema };
  if (def.type === 'object') return def.shape?.[String(seg)];
  if (def.type === 'array') return def.element;
  if (def.type === 'record') return def.valueType;
  return undefined;
}
