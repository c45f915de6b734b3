import { z } from 'zod';
import { duration, int, port, shellCommand, text } from './fields.js';

export const SIGNALS = ['HUP', 'USR1', 'USR2', 'TERM', 'INT', 'QUIT', 'WINCH', 'TTIN', 'TTOU', 'CONT'] as const;

export const serviceSchema = z
  .strictObject({
    manager: z
      .enum(['process', 'systemd', 'docker', 'supervisor', 'script', 'signal', 'none'])
      .default('none')
      .describe('What (re)starts the app after `current` moves: the embedded process supervisor, systemd, docker, supervisord, a script, a signal to a pid, or nothing.'),
    command: shellCommand('Command the process manager runs in the release directory, with PORT set.').optional(),
    instances: int('Instances per host (process manager).', 1, 256).default(1),
    base_port: port('First instance port; instances use base_port, base_port+1, ...; `{port}` in checks is this port.').optional(),
    name: text('systemd unit, supervisor program or container name. Default: the app name.', 256).optional(),
    stop_timeout: duration('Time between SIGTERM and SIGKILL when an instance stops.').prefault('10s'),
    restart_command: shellCommand('Command that restarts the app (manager script); runs in the new release directory.').optional(),
    reload_command: shellCommand('Command run after the restart, e.g. to reload a front proxy (`systemctl reload nginx`).').optional(),
    pid_file: text('File holding the pid to signal (manager signal); relative paths are under app_root.', 1024).optional(),
    signal: z.enum(SIGNALS).default('HUP').describe('Signal sent to the pid in pid_file (manager signal).'),
    restart_timeout: duration('Limit for restart_command / reload_command.').prefault('60s'),
  })
  .describe('How the application is (re)started.');

export type ServiceConfig = z.output<typeof serviceSchema>;
