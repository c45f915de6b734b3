import { z } from 'zod';
import { duration, releasePath, shellCommand } from './fields.js';

/** Every lifecycle event a hook can attach to (DESIGN §5, seed 000 §6). */
export const HOOK_EVENTS = [
  'pre_deploy',
  'check_dependencies',
  'pre_build',
  'build',
  'pre_activate',
  'post_activate',
  'post_deploy',
  'pre_rollback',
  'post_rollback',
  'on_rollback',
  'on_failure',
  'notify',
] as const;
export type HookEvent = (typeof HOOK_EVENTS)[number];

const hookObject = z.strictObject({
  command: shellCommand('command'),
  run_once: z.boolean().default(false).describe('Run on one host only (the first selected), as for a database migration.'),
});
const hookEntry = z.union([shellCommand('command'), hookObject]);

/** One hook command as the engine sees it. */
export interface HookSpec {
  command: string;
  run_once: boolean;
}

const commands = z
  // one flat union, so a wrong type is told what the choices are
  .union([shellCommand('command'), z.array(hookEntry).max(200), hookObject])
  .transform((v): HookSpec[] => (Array.isArray(v) ? v : [v]).map((c) => (typeof c === 'string' ? { command: c, run_once: false } : c)));

const eventShape = Object.fromEntries(
  HOOK_EVENTS.map((e) => [e, commands.optional().describe(`Shell commands run at ${e}, in the release directory: strings, or {command, run_once}.`)]),
) as Record<HookEvent, z.ZodOptional<typeof commands>>;

export const hooksSchema = z
  .strictObject({
    ...eventShape,
    build_local: z
      .union([shellCommand('command'), z.array(shellCommand('command')).max(200)])
      .transform((v) => (typeof v === 'string' ? [v] : v))
      .optional()
      .describe('Commands run once on this machine, in the prepared release, before it is uploaded to remote hosts (instead of `build` on each host).'),
    timeout: duration('Limit for each hook command; the whole process group is killed past it.').prefault('300s'),
    dir: releasePath('Extra directory (relative to the release) searched for hook scripts named after the event.').optional(),
  })
  .describe(
    'Commands per lifecycle event. Scripts in the release are run too: deploy/hooks/<event>, deploy/hooks/<event>.sh, .deploy/<event> (the first found, if executable).',
  );

export type HooksConfig = z.output<typeof hooksSchema>;
