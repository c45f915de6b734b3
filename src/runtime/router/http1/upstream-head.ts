// The request head sent to a target: the client's head (hop-by-hop fields dropped by the parser)
// with the forwarding fields and the connection handling the router wants upstream.
import type { RequestHead } from './parse-request.js';

/**
 * The request head to send upstream. The forwarding fields are the router's own (the client's
 * address, http, the Host, no Forwarded) unless the client is a trusted proxy: then its
 * X-Forwarded-For is appended to and its X-Forwarded-Proto, -Host, X-Real-IP and Forwarded kept.
 */
export function upstreamHead(h: RequestHead, clientIp: string, trusted: boolean): string {
  let xff = clientIp;
  let proto = 'http';
  let host = h.host;
  let realIp = clientIp;
  let forwarded = '';
  if (trusted) {
    if (h.xff !== null) xff = `${h.xff}, ${clientIp}`;
    proto = h.xfProto ?? proto;
    host = h.xfHost ?? host;
    realIp = h.realIp ?? realIp;
    forwarded = h.forwarded ?? '';
  }
  const fh = host === null ? '' : `X-Forwarded-Host: ${host}\r\n`;
  const conn = h.upgrade !== null ? `Upgrade: ${h.upgrade}\r\nConnection: upgrade\r\n` : h.http10 ? 'Connection: close\r\n' : 'Connection: keep-alive\r\n';
  return `${h.method} ${h.target} HTTP/1.${h.http10 ? 0 : 1}\r\n${h.fwd}${forwarded}X-Forwarded-For: ${xff}\r\nX-Forwarded-Proto: ${proto}\r\n${fh}X-Real-IP: ${realIp}\r\n${conn}\r\n`;
}
