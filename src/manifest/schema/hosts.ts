import { z } from 'zod';
import { duration, int, port, text } from './fields.js';

const hostString = z
  .string()
  .min(1)
  .max(512)
  .regex(/^(local|ssh:\/\/[^\s/-][^\s/]*|[A-Za-z0-9_.@:[\]][A-Za-z0-9_.@:[\]-]*)$/, {
    message: 'expected `local`, `ssh://user@host:port`, `user@host` or a host name',
  });

const hostObject = z.strictObject({
  host: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9_.:[\]][A-Za-z0-9_.:[\]-]*$/, { message: 'expected a host name or address' })
    .describe('Host name, address, or alias from the SSH config.'),
  user: text('SSH user for this host.', 64).optional(),
  port: port('SSH port for this host.').optional(),
  roles: z.array(text('role', 64)).max(50).default([]).describe('Roles of this host, for `--roles` and role-scoped hooks.'),
  app_root: text('app_root on this host, overriding deployment.app_root.', 1024).optional(),
});

export const hostsSchema = z
  .array(z.union([hostString, hostObject]))
  .min(1)
  .max(1000)
  .default(['local'])
  .describe('Hosts to deploy to: `local`, `ssh://user@host:port`, or `{host, user, port, roles, app_root}`.');

export const sshSchema = z
  .strictObject({
    user: text('Default SSH user.', 64).optional(),
    port: port('Default SSH port.').default(22),
    identity_file: text('Private key file (ssh -i).', 1024).optional(),
    proxy_jump: text('Jump host (ssh -J).', 512).optional(),
    parallel: int('Hosts worked on at once.', 1, 1000).default(10),
    connect_timeout: duration('SSH connect timeout.').prefault('10s'),
    node: text('Node.js on the hosts, which runs Deployer\'s agent there (a name on PATH or a path).', 1024).default('node'),
    config_file: text('SSH client config file (ssh -F).', 1024).optional(),
    options: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, { message: 'expected an ssh_config option name' }), z.union([z.string(), z.number(), z.boolean()]))
      .optional()
      .describe('Extra ssh_config options passed as `-o Key=Value`.'),
  })
  .describe('SSH settings for remote hosts.');

export type HostEntry = z.output<typeof hostsSchema>[number];
export type SshConfig = z.output<typeof sshSchema>;
