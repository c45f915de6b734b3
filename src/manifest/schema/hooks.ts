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

const commands = z
  .union([shellCommand('command'), z.array(shellCommand('command')).max(200)])
  .transform((v) => (typeof v === 'string' ? [v] : v));

const eventShape = Object.fromEntries(
  HOOK_EVENTS.map((e) => [e, commands.optional().describe(`Shell commands run at ${e}, in the release directory.`)]),
) as Record<HookEvent, z.ZodOptional<typeof commands>>;

export const hooksSchema = z
  .strictObject({
    ...eventShape,
    timeout: duration('Limit for each hook command; the whole process group is killed past it.').prefault('300s'),
    dir: releasePath('Extra directory (relative to the release) searched for hook scripts named after the event.').optional(),
  })
  .describe(
    'Commands per lifecycle event. Scripts in the release are run too: deploy/hooks/<event>, deploy/hooks/<event>.sh, .deploy/<event> (the first found, if executable).',
  );

export type HooksConfig = z.output<typeof hooksSchema>;
