import { z } from 'zod';
import { cidr, duration, port, shellCommand, text } from './fields.js';

export const routerSchema = z
  .strictObject({
    type: z.enum(['embedded', 'nginx', 'haproxy', 'none']).default('none').describe('What splits traffic between pools.'),
    listen: z
      .union([port('port'), z.string().regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, { message: 'expected a port or "host:port"' })])
      .optional()
      .describe('Port (or host:port) the embedded router listens on. A bare port listens on 127.0.0.1; give 0.0.0.0:PORT to serve other machines.'),
    hostnames: z
      .array(text('Host name', 255))
      .max(64)
      .default([])
      .describe('Host header names routed to this app, for several apps on one listen port. Empty: the app answers every name on its port.'),
    health_path: z
      .string()
      .regex(/^\/[^\s]*$/, { message: 'expected a path starting with /' })
      .optional()
      .describe("Path the router GETs on each instance to decide it can take traffic. Default: the path of the first http health check using {port}; with none, a TCP connect."),
    health_interval: duration('How often the router checks each instance.').prefault('1s'),
    sticky: z.boolean().default(true).describe('Keep a client on one version (a cookie) while traffic is split between versions.'),
    trusted_proxies: z
      .array(cidr('An IP address or CIDR block, IPv4 or IPv6.'))
      .max(64)
      .default([])
      .describe(
        'Proxies (IP addresses or CIDR blocks such as 10.0.0.0/8 or fd00::/8) in front of the embedded router whose forwarding headers it trusts: from them it appends the client to X-Forwarded-For and keeps X-Real-IP, X-Forwarded-Proto, X-Forwarded-Host and Forwarded. From any other client it sets X-Forwarded-For, X-Real-IP, X-Forwarded-Proto and X-Forwarded-Host itself from what it saw and drops Forwarded.',
      ),
    unavailable_wait: duration('How long a request waits for an instance when none can take it (say during a recreate) before a 503.').prefault('10s'),
    metrics_listen: z
      .union([port('port'), z.string().regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, { message: 'expected a port or "host:port"' })])
      .optional()
      .describe('Port (or host:port) where the runtime serves Prometheus metrics at /metrics.'),
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
