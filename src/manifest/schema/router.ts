import { z } from 'zod';
import { cidr, duration, int, port, shellCommand, size, text } from './fields.js';

const absolutePath = (description: string) => text(description, 1024).regex(/^\//, { message: 'expected an absolute path' });
const upstreamName = (description: string) => text(description, 128).regex(/^[A-Za-z0-9_.-]+$/, { message: 'expected letters, digits, _ . or -' });

/** A router timeout: shorter ones would close healthy slow clients (and the router checks a few times a second at most). */
const atLeastOneSecond = <T extends z.ZodType<number>>(d: T) => d.refine((ms) => ms >= 1000, { message: 'must be at least 1s' });

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
    send_timeout: atLeastOneSecond(duration('Embedded router: a client that reads none of its response for this long (no write to it completes) is closed and its connection to the instance freed.')).prefault('60s'),
    body_timeout: atLeastOneSecond(duration('Embedded router: a request body that stops coming for this long gets a 408 (or the connection closes, once the response began).')).prefault('60s'),
    tunnel_idle_timeout: atLeastOneSecond(duration('Embedded router: an upgraded (WebSocket) connection with no byte either way for this long is closed on both sides.')).prefault('10m'),
    max_connections: int('Embedded router: open client connections on the listen port (WebSockets included); a connection beyond it is closed at accept and counted in the metrics.', 1, 1_000_000).default(10_000),
    max_connections_per_client: int('Embedded router: the same, from one client address.', 1, 1_000_000).default(500),
    max_head_memory: size('Embedded router: memory held by unfinished request heads across all connections on the listen port (at least 64KiB); a head that would take it past this gets a 431 and its connection closes.')
      .refine((n) => n >= 64 * 1024 && n <= 2 ** 40, { message: 'must be between 64KiB and 1TiB' })
      .prefault('32MiB'),
    metrics_listen: z
      .union([port('port'), z.string().regex(/^[A-Za-z0-9.:[\]-]+:\d{1,5}$/, { message: 'expected a port or "host:port"' })])
      .optional()
      .describe('Port (or host:port) where the runtime serves Prometheus metrics at /metrics.'),
    nginx: z
      .strictObject({
        config_file: absolutePath('File Deployer owns and writes (atomically) with the upstream block of the pools, their servers and weights; nginx.conf includes it inside http {}.'),
        upstream: upstreamName('Name of the upstream block in config_file; the server block proxies to http://<upstream>. Default: the app name.').optional(),
        test_command: shellCommand('Command that validates the whole nginx configuration; run before every reload. A refused file is never left in place.').default('nginx -t'),
        reload_command: shellCommand('Command that reloads nginx gracefully (old workers finish their requests).').default('nginx -s reload'),
        access_log: absolutePath('JSON access log Deployer defines (log_format) and reads for per-pool counts and latency in the canary analysis; the server block logs to it.').optional(),
      })
      .optional()
      .describe('router.type nginx: Deployer writes an upstream file that nginx includes, tests it and reloads nginx.'),
    haproxy: z
      .strictObject({
        admin_socket: absolutePath('HAProxy runtime API socket (`stats socket <path> level admin`); changes go through it without a reload.'),
        backend: upstreamName('The backend Deployer owns (in config_file). Default: the app name.').optional(),
        config_file: absolutePath('File Deployer writes `backend <name>` and its servers to, mirroring every runtime change, so a reload or restart of HAProxy keeps what Deployer set; haproxy runs with an extra -f for it.'),
        reload_command: shellCommand('Command that reloads HAProxy, used only when the runtime API cannot make a change.').optional(),
      })
      .optional()
      .describe('router.type haproxy: Deployer drives a backend through the runtime API and mirrors it into a config file.'),
  })
  .describe('Traffic router.');

export type RouterConfig = z.output<typeof routerSchema>;
