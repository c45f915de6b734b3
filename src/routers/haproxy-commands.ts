// Builders of HAProxy runtime API command lines (one line each; several joined with "; " go on one
// connection). Nothing here talks to HAProxy: haproxy-api.ts sends what these return.
import { RouterError } from '../errors.js';

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const HOST = /^[A-Za-z0-9.:-]{1,253}$/;

export type ServerAdminState = 'ready' | 'drain' | 'maint';

/** A backend or server name as HAProxy's CLI takes it: letters, digits, _ . - only (no space, no `;`). */
export function checkName(key: string, what: string, name: string): string {
  if (!NAME.test(name)) throw new RouterError(key, `${what} ${JSON.stringify(name)} is not a name HAProxy's runtime API can carry (letters, digits, _ . - only)`);
  return name;
}

function server(be: string, id: string): string {
  return `${checkName('router.haproxy.backend', 'backend', be)}/${checkName('router.haproxy.backend', 'server', id)}`;
}

function weight(w: number): number {
  if (!Number.isInteger(w) || w < 0 || w > 256) throw new RouterError('router.haproxy.backend', `server weight ${w} is not an integer between 0 and 256`);
  return w;
}

function checkHost(host: string): string {
  if (!HOST.test(host)) throw new RouterError('router.haproxy.backend', `target address ${JSON.stringify(host)} is not an IP address or host name`);
  return host;
}

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RouterError('router.haproxy.backend', `target port ${port} is not a port`);
  return port;
}

/** `host:port`, with an IPv6 address in brackets. */
export function address(host: string, port: number): string {
  const h = checkHost(host);
  return `${h.includes(':') ? `[${h}]` : h}:${checkPort(port)}`;
}

/** A dynamic server; HAProxy adds it in maintenance (answer: "New server registered."). */
export const addServer = (be: string, id: string, host: string, port: number, w: number) => `add server ${server(be, id)} ${address(host, port)} weight ${weight(w)}`;
/** Only a server in maintenance with no connection can go (answer: "Server deleted."). */
export const delServer = (be: string, id: string) => `del server ${server(be, id)}`;
export const setWeight = (be: string, id: string, w: number) => `set server ${server(be, id)} weight ${weight(w)}`;
export const setState = (be: string, id: string, s: ServerAdminState) => `set server ${server(be, id)} state ${s}`;
export const setAddr = (be: string, id: string, host: string, port: number) => `set server ${server(be, id)} addr ${checkHost(host)} port ${checkPort(port)}`;
export const shutdownSessions = (be: string, id: string) => `shutdown sessions server ${server(be, id)}`;
/** The backend's servers: addresses, user weights, admin and operational states ("Can't find backend." when it has none). */
export const showServersState = (be: string) => `show servers state ${checkName('router.haproxy.backend', 'backend', be)}`;
/** CSV stats of the backend's servers (type 4 = servers, -1 = all of them); "No such proxy." when unknown. */
export const showStat = (be: string) => `show stat ${checkName('router.haproxy.backend', 'backend', be)} 4 -1`;

/**
 * Command lines joined for one connection each, in order, none longer than `maxChars` (HAProxy
 * reads a CLI line into one buffer, 16 KiB by default): usually one line, so one update.
 */
export function batches(commands: readonly string[], maxChars = 8000): string[] {
  const out: string[] = [];
  let cur = '';
  for (const c of commands) {
    if (cur && cur.length + 2 + c.length > maxChars) {
      out.push(cur);
      cur = '';
    }
    cur = cur ? `${cur}; ${c}` : c;
  }
  if (cur) out.push(cur);
  return out;
}
