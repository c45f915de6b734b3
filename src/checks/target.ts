import type { CheckSpec } from './types.js';

/**
 * Auto-detects the check type from a target as the seed does: http(s)://... -> http (expecting
 * 200); tcp://host:port -> tcp; pid://1234 -> process pid; pid://name:nginx or pid://nginx ->
 * process name; cmd://... -> command (everything after cmd://). A target without a scheme, or
 * with another one, gives null (the caller reports it). A known scheme with a bad rest throws
 * an Error saying what is wrong.
 */
export function parseTarget(target: string): CheckSpec | null {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/is.exec(target.trim());
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  switch (scheme) {
    case 'http':
    case 'https':
      if (!URL.canParse(target.trim())) throw new Error(`invalid URL ${JSON.stringify(target)}`);
      return { type: 'http', url: target.trim(), expectedStatus: [200] };
    case 'tcp': {
      const { host, port } = parseHostPort(rest.replace(/\/$/, ''));
      return { type: 'tcp', host, port };
    }
    case 'pid':
      return parseProcessTarget(rest);
    case 'cmd':
      if (rest.trim() === '') throw new Error(`empty command in ${JSON.stringify(target)}`);
      return { type: 'command', command: rest };
    default:
      return null;
  }
}

/**
 * The target of a process check, with or without `pid://`: "1234" -> pid; "name:nginx" or
 * "nginx" -> name.
 */
export function parseProcessTarget(s: string): Extract<CheckSpec, { type: 'process' }> {
  const t = s.trim().replace(/^pid:\/\//i, '');
  if (/^\d+$/.test(t)) {
    const pid = Number(t);
    if (pid <= 0 || !Number.isSafeInteger(pid)) throw new Error(`invalid pid ${JSON.stringify(t)}`);
    return { type: 'process', pid };
  }
  const name = t.startsWith('name:') ? t.slice('name:'.length) : t;
  if (name === '') throw new Error(`no process name or pid in ${JSON.stringify(s)}`);
  if (name.includes('/')) throw new Error(`process name ${JSON.stringify(name)} must not contain "/"`);
  return { type: 'process', name };
}

/** "host:port" or "[::1]:port" -> {host, port}. Throws an Error saying what is wrong. */
export function parseHostPort(s: string): { host: string; port: number } {
  const shown = JSON.stringify(s);
  let host: string;
  let portText: string;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(s);
  if (bracketed) {
    host = bracketed[1]!;
    portText = bracketed[2]!;
  } else {
    const colon = s.lastIndexOf(':');
    if (colon < 0) throw new Error(`${shown} has no port: write host:port`);
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(':')) throw new Error(`${shown}: put an IPv6 address in brackets, as in [::1]:8080`);
  }
  if (host === '') throw new Error(`${shown} has no host: write host:port`);
  if (/[\s/[\]]/.test(host)) throw new Error(`${shown}: invalid host ${JSON.stringify(host)}`);
  if (!/^\d{1,5}$/.test(portText)) throw new Error(`${shown}: port must be a number from 1 to 65535`);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw new Error(`${shown}: port must be a number from 1 to 65535`);
  return { host, port };
}
