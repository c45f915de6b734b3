import { z } from 'zod';
import { port, shellCommand, text } from './fields.js';

export const routerSchema = z
  .strictObject({
    type: z.enum(['embedded', 'nginx', 'haproxy', 'none']).default('none').describe('What splits traffic between pools.'),
    listen: z
      .union([port('port'), z.string().regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, { message: 'expected a port or "host:port"' })])
      .optional()
      .describe('Port (or host:port) the embedded router listens on.'),
    nginx: z
      .strictObject({
        upstream_file: text('File Deployer writes the upstream block to.', 1024).optional(),
        reload_command: shellCommand('Command that reloads nginx.').default('nginx -s reload'),
      })
      .optional(),
    haproxy: z
      .strictObject({
        admin_socket: text('HAProxy admin socket path.', 1024).optional(),
        backend: text('Backend name.', 256).default('app_backend'),
      })
      .optional(),
  })
  .describe('Traffic router.');

export type RouterConfig = z.output<typeof routerSchema>;
