// HAProxy's runtime API over its unix socket (`stats socket <path> level admin`): one command
// line per connection, newline terminated; HAProxy answers and closes (non-interactive mode).
import { createConnection } from 'node:net';
import { RouterError } from '../errors.js';
import type { Transport } from '../hosts/transport.js';

export interface HaproxyApi {
  /** Sends one line (commands joined by "; " run in order) and resolves with HAProxy's whole answer. */
  run(line: string): Promise<string>;
}

const KEY = 'router.haproxy.admin_socket';
const hint = (path: string) => `HAProxy's global section needs \`stats socket ${path} level admin\` (and Deployer must be allowed to open it: mode/user/group on that line)`;

/** A socket error as the RouterError a user can act on. */
function socketError(path: string, e: NodeJS.ErrnoException): RouterError {
  const why =
    e.code === 'ENOENT'
      ? 'no such socket: HAProxy is not running, or has no stats socket there'
      : e.code === 'ECONNREFUSED'
        ? 'connection refused: no HAProxy listens on it'
        : e.code === 'EACCES' || e.code === 'EPERM'
          ? 'permission denied'
          : e.message;
  return new RouterError(KEY, `cannot reach HAProxy's runtime API at ${path}: ${why}`, { hint: hint(path), cause: e });
}

/** The runtime API of an HAProxy on this machine, spoken directly over its unix socket. */
export class SocketApi implements HaproxyApi {
  constructor(
    readonly path: string,
    private readonly timeoutMs = 10_000,
  ) {}

  run(line: string): Promise<string> {
    if (line.includes('\n')) throw new Error(`haproxy-api: a command line must not hold a newline: ${JSON.stringify(line)}`);
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      const sock = createConnection(this.path);
      sock.setTimeout(this.timeoutMs, () => sock.destroy(Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      sock.on('connect', () => sock.end(`${line}\n`));
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.on('error', (e: NodeJS.ErrnoException) => reject(socketError(this.path, e)));
      sock.on('close', (hadError) => {
        if (!hadError) resolve(Buffer.concat(chunks).toString('utf8'));
      });
    });
  }
}

/**
 * The same API on a host reached through a transport (SSH): `socat` there relays the line.
 * Needs socat on that host.
 */
export class ExecApi implements HaproxyApi {
  constructor(
    private readonly transport: Transport,
    readonly path: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async run(line: string): Promise<string> {
    const r = await this.transport.exec(socatArgv(this.path), { input: `${line}\n`, timeoutMs: this.timeoutMs });
    if (r.code === 0) return r.stdout;
    const why = r.spawnError ? `socat could not run (${r.spawnError.message})` : r.timedOut ? `no answer within ${this.timeoutMs} ms` : r.stderr.trim().slice(-300) || `socat exited ${r.code}`;
    throw new RouterError(KEY, `cannot reach HAProxy's runtime API at ${this.path} on ${this.transport.name}: ${why}`, { hint: hint(this.path) });
  }
}

export const socatArgv = (path: string): readonly string[] => ['socat', '-t', '5', 'stdio', `unix-connect:${path}`];

/**
 * An answer that says a command failed, as a RouterError naming the key it points at; null when
 * it did not. Admin commands answer nothing on success. On a socket below `level admin` HAProxy
 * answers "Permission denied" or lists the commands it allows as "Unknown command".
 */
export function answerError(answer: string, path: string): RouterError | null {
  const text = answer.trim();
  if (text === '') return null;
  if (/permission denied|require '?(admin|operator)'? level|unknown command/i.test(text)) {
    return new RouterError(KEY, `HAProxy refused an admin command on ${path}: ${firstLine(text)}`, { hint: hint(path) });
  }
  return new RouterError('router.haproxy.backend', `HAProxy refused a change: ${text.split('\n').map((l) => l.trim()).filter(Boolean).join(' ').slice(0, 500)}`);
}

const firstLine = (t: string) => t.split('\n')[0]!.trim();
