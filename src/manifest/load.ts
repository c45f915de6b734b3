import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ManifestError, UsageError, type ManifestIssue } from '../errors.js';
import type { CheckTemplate } from './checks.js';
import { interpolate, type InterpolationError } from './interpolate.js';
import { explainIssues, valueAt, type RawIssue } from './issues.js';
import { hasPath, lineOf } from './locate.js';
import { deepMerge, isMap } from './overlay.js';
import { crossFieldRules } from './rules.js';
import { manifestSchema, type Manifest } from './schema/index.js';
import { Redactor } from '../state/redact.js';

/** Manifests are small; anything bigger is a mistake or an attack. */
export const MAX_MANIFEST_BYTES = 1024 * 1024;

export interface LoadedManifest {
  manifest: Manifest;
  /** health checks, normalised */
  checks: CheckTemplate[];
  smokeTests: CheckTemplate[];
  file: string;
  /** directory of the manifest: relative paths in it are relative to this */
  dir: string;
  environment?: string;
  /** names of the environments the manifest defines */
  environments: string[];
  warnings: ManifestIssue[];
  /** why the source may not be fetched as configured (deploy and validate refuse; see rules.ts) */
  fetchRefusals: ManifestIssue[];
  /** the values `${VAR}` took from the environment: secrets wherever they appear (see Redactor) */
  secrets: string[];
  /** line of a key path in the file (the environment overlay's when it sets it) */
  lineOf(path: (string | number)[]): number | undefined;
}

export interface LoadOptions {
  environment?: string;
  env?: NodeJS.ProcessEnv;
}

export async function loadManifest(path: string, opts: LoadOptions = {}): Promise<LoadedManifest> {
  const file = resolve(path);
  const st = await stat(file).catch(() => null);
  if (!st) throw new UsageError(`manifest ${path} not found`, { hint: 'create one with `deployer init`, or pass -f FILE' });
  if (!st.isFile()) throw new UsageError(`manifest ${path} is not a file`);
  if (st.size > MAX_MANIFEST_BYTES) throw new ManifestError([{ path: '', file: basename(file), message: `the file is ${st.size} bytes; a manifest may be at most ${MAX_MANIFEST_BYTES}` }]);
  const text = await readFile(file, 'utf8');
  return parseManifest(text, { ...opts, file });
}

/** Parses and validates manifest text. Throws ManifestError listing every problem with its line. */
export function parseManifest(text: string, opts: LoadOptions & { file?: string } = {}): LoadedManifest {
  const file = opts.file ?? 'deploy.yml';
  const name = basename(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: true, strict: true });
  // a message may quote a value that came from the environment ("got \"p<value>\"")
  let hide = new Redactor([]);
  const issue = (i: RawIssue, docFor: (p: RawIssue['path']) => [Document, (string | number)[]] = (p) => [doc, p]): ManifestIssue => {
    const [d, p] = docFor(i.path);
    const line = lineOf(d, lines, p, i.atKey);
    return { path: formatPath(i.path), message: hide.redact(i.message), file: name, ...(line ? { line } : {}) };
  };

  if (doc.errors.length) {
    throw new ManifestError(
      doc.errors.slice(0, 10).map((e) => ({ path: '', file: name, message: `invalid YAML: ${firstLine(e.message)}`, ...(e.linePos ? { line: e.linePos[0].line } : {}) })),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ManifestError([{ path: '', file: name, message: `invalid YAML: ${firstLine((e as Error).message)}` }]);
  }
  if (!isMap(raw)) throw new ManifestError([{ path: '', file: name, message: `the manifest must be a map of keys (name:, source:, deployment: ...), got ${raw === null || raw === undefined ? 'an empty document' : Array.isArray(raw) ? 'a list' : 'a single value'}` }]);

  // only the base and the chosen overlay are interpolated: a variable that only another
  // environment uses need not be set to deploy this one
  const env = opts.environment;
  const environmentsRaw = isMap(raw.environments) ? raw.environments : undefined;
  const environments = environmentsRaw ? Object.keys(environmentsRaw) : [];
  if (env !== undefined && !environments.includes(env)) {
    throw new UsageError(
      environments.length ? `no environment "${env}" in ${name} (it defines: ${environments.join(', ')})` : `${name} defines no environments, so -e ${env} cannot be used`,
    );
  }
  const interpErrors: InterpolationError[] = [];
  const typed: (string | number)[][] = [];
  const vars = opts.env ?? process.env;
  const { environments: _envs, ...baseRaw } = raw;
  const secrets = new Set<string>();
  const base = interpolate(baseRaw, vars, interpErrors, [], typed, secrets) as Record<string, unknown>;
  const data: Record<string, unknown> = environmentsRaw ? { ...base, environments: environmentsRaw } : base;
  let overlay: unknown;
  if (env !== undefined) {
    const overlayTyped: (string | number)[][] = [];
    overlay = interpolate(environmentsRaw![env], vars, interpErrors, ['environments', env], overlayTyped, secrets);
    typed.push(...overlayTyped.map((p) => p.slice(2)));
  }
  hide = new Redactor(secrets);
  if (interpErrors.length) throw new ManifestError(interpErrors.map((e) => issue({ path: e.path, message: e.message })));

  let merged: Record<string, unknown> = data;
  if (env !== undefined) {
    if (!isMap(overlay)) throw new ManifestError([issue({ path: ['environments', env], message: 'must be a map of keys to overlay' })]);
    const bad = ['name', 'environments'].filter((k) => k in overlay);
    if (bad.length) throw new ManifestError(bad.map((k) => issue({ path: ['environments', env, k], atKey: true, message: `cannot be set per environment` })));
    merged = deepMerge(data, overlay) as Record<string, unknown>;
  }
  // an error in the merged manifest is reported at the overlay's line when the overlay set it
  const docFor = (p: (string | number)[]): [Document, (string | number)[]] =>
    env !== undefined && hasPath(doc, ['environments', env, ...p]) ? [doc, ['environments', env, ...p]] : [doc, p];

  let parsed = manifestSchema.safeParse(merged);
  if (!parsed.success) {
    // `${VAR}` that read as a number or boolean where the key wants text: give it the text back
    const back = parsed.error.issues.filter((i) => i.code === 'invalid_type' && i.expected === 'string' && typed.some((p) => samePath(p, i.path)));
    if (back.length) {
      for (const i of back) setAt(merged, i.path as (string | number)[], String(valueAt(merged, i.path as (string | number)[])));
      parsed = manifestSchema.safeParse(merged);
    }
  }
  if (!parsed.success) throw new ManifestError(explainIssues(parsed.error.issues, merged, manifestSchema).map((i) => issue(i, docFor)));

  const rules = crossFieldRules(parsed.data);
  if (rules.errors.length) throw new ManifestError(rules.errors.map((i) => issue(i, docFor)));
  return {
    manifest: parsed.data,
    checks: rules.checks,
    smokeTests: rules.smokeTests,
    file,
    dir: dirname(file),
    ...(env !== undefined ? { environment: env } : {}),
    environments,
    warnings: rules.warnings.map((i) => issue(i, docFor)),
    fetchRefusals: rules.fetchErrors.map((i) => issue(i, docFor)),
    secrets: [...secrets],
    lineOf: (path) => {
      const [d, p] = docFor(path);
      return lineOf(d, lines, p);
    },
  };
}

/** `['hooks', 'build', 1]` -> `hooks.build[1]` */
export function formatPath(path: readonly (string | number)[]): string {
  return path.reduce<string>((acc, seg) => (typeof seg === 'number' ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg), '');
}

function firstLine(s: string): string {
  return s.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
}

function samePath(a: readonly PropertyKey[], b: readonly PropertyKey[]): boolean {
  return a.length === b.length && a.every((x, i) => String(x) === String(b[i]));
}

function setAt(root: Record<string, unknown>, path: (string | number)[], value: unknown): void {
  let cur: Record<string | number, unknown> = root;
  for (const seg of path.slice(0, -1)) cur = cur[seg] as Record<string | number, unknown>;
  cur[path.at(-1)!] = value;
}
