import { z } from 'zod';
import { int, size, text } from './fields.js';

/** A full commit id (SHA-1 or SHA-256): git checks every object it fetches against it, so it pins the tree. */
export const FULL_COMMIT_ID = /^([0-9a-f]{40}|[0-9a-f]{64})$/i;

export const sourceSchema = z
  .strictObject({
    type: z
      .enum(['local', 'archive', 'git'])
      .default('local')
      .describe('Where releases come from: a local directory, an archive (path or http(s) URL), or a git repository.'),
    path: text('Local directory (type local) or archive file (type archive), relative to the manifest.').optional(),
    url: text('Archive path or http(s) URL (type archive); repository URL (type git); the seed also writes a local directory here.').optional(),
    branch: text('Git branch, tag or commit to deploy (type git). Default: the remote HEAD.').optional(),
    ref: text('Same as `branch`: a git branch, tag or commit.').optional(),
    sha256: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, { message: 'expected 64 hexadecimal characters (a SHA-256 digest)' })
      .describe('SHA-256 of the archive, checked before anything is extracted (type archive).')
      .optional(),
    insecure: z
      .boolean()
      .default(false)
      .describe(
        'Accept a source fetched over plain http:// or git:// that nothing pins: no `sha256` for an archive, no full commit id as `branch`/`ref` for git. Without it such a source is refused: its hooks run on every host, so anyone on the network path could run code there.',
      ),
    max_size: size('Most bytes an archive may expand to; past it the archive is refused (a decompression bomb would fill the disk the live app uses).').prefault('10GiB'),
    strip_components: int('Leading path components to strip from archive entries (like `tar --strip-components`).', 0, 16).default(0),
    exclude: z
      .array(text('pattern', 1024))
      .max(1000)
      .default([])
      .describe(
        'Paths left out of the release, rsync-style: `node_modules` matches at any depth, `/tmp` only at the top, `*.log` by name, `docs/**` by path, a trailing `/` only directories.',
      ),
  })
  .describe('The source of the release.');

export type SourceConfig = z.output<typeof sourceSchema>;
