// Helpers shared by the manifest loading tests (load, load-errors, rules).
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ManifestError, UsageError } from '../errors.js';
import { parseManifest, type LoadOptions } from './load.js';

export const SEED = readFileSync(new URL('../../test/fixtures/seed-manifest.yml', import.meta.url), 'utf8');
export const SEED_ENV = { SLACK_WEBHOOK: 'https://hooks.slack.example/T000/B000/XXXX' };

/** Parses with an empty environment unless one is given. */
export const parse = (text: string, opts: LoadOptions & { file?: string } = {}) => parseManifest(text, { env: {}, ...opts });

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error, but it parsed');
}

export function manifestError(fn: () => unknown): ManifestError {
  const e = thrown(fn);
  if (!(e instanceof ManifestError)) throw e;
  return e;
}

export function usageError(fn: () => unknown): UsageError {
  const e = thrown(fn);
  if (!(e instanceof UsageError)) throw e;
  return e;
}

/** The only issue of a ManifestError, as `file:line: path: message`. */
export function oneIssue(text: string, opts: LoadOptions = {}): string {
  const err = manifestError(() => parse(text, opts));
  expect(err.issues).toHaveLength(1);
  return err.message;
}
