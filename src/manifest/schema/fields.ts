import { z } from 'zod';
import { MAX_DURATION_MS, parseDuration } from '../duration.js';
import { parseSize } from '../size.js';
import { CIDR_HINT, parseCidr } from '../../util/cidr.js';

/** A duration (number of seconds or `30s`, `5m`, `1m30s`, `500ms`), parsed to milliseconds. */
export const duration = (description: string) =>
  z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === null) {
        ctx.addIssue({ code: 'custom', message: `expected a duration such as 30, "30s", "5m" or "1m30s", got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      if (ms > MAX_DURATION_MS) {
        ctx.addIssue({ code: 'custom', message: `duration ${JSON.stringify(v)} is too long (at most 24 days)` });
        return z.NEVER;
      }
      return ms;
    })
    .meta({ description, format: 'duration' });

export const int = (description: string, min: number, max: number) => z.number().int().min(min).max(max).describe(description);

export const port = (description: string) => int(description, 1, 65535);

export const percent = (description: string) => z.number().min(0).max(100).describe(description);

/** A whole number, or a percentage string such as "25%" (of the instances or hosts concerned). */
export const countOrPercent = (description: string, min = 0) =>
  z
    .union([z.number().int().min(min).max(100_000), z.string().regex(/^\d{1,3}(\.\d+)?%$/, { message: 'expected a number or a percentage such as "25%"' })])
    .describe(description);

/** An IPv4 or IPv6 address, or a CIDR block of them (`10.0.0.0/8`, `fd00::/8`). */
export const cidr = (description: string) =>
  z
    .string()
    .max(64)
    .refine((s) => parseCidr(s) !== null, { message: CIDR_HINT })
    .describe(description);

/** A non-empty string of reasonable length. */
export const text = (description: string, max = 4096) => z.string().min(1).max(max).describe(description);

/** A shell command line (run with `sh -c`); not interpolated at load time, the shell expands it. */
export const shellCommand = (description: string) => z.string().min(1).max(65_536).describe(description);

/** Relative path inside a release: no absolute paths, no `..`. */
export const releasePath = (description: string) =>
  z
    .string()
    .min(1)
    .max(1024)
    .refine((p) => !p.startsWith('/') && !p.includes('\0') && p.replace(/\/+$/, '').split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'), {
      message: 'must be a relative path inside the release (no leading "/", no "." or ".." parts)',
    })
    .describe(description);

/** A size in bytes, or with a unit (`500MB`, `10GiB`), parsed to bytes. */
export const size = (description: string) =>
  z
    .union([z.number(), z.string()])
    .transform((v, ctx) => {
      const bytes = parseSize(v);
      if (bytes === null) {
        ctx.addIssue({ code: 'custom', message: `expected a size such as 1048576, "500MB" or "10GiB", got ${JSON.stringify(v)}` });
        return z.NEVER;
      }
      return bytes;
    })
    .meta({ description, format: 'size' });
