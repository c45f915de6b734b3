// The request head sent to a target: the client's head (hop-by-hop fields dropped by the parser)
// with the forwarding fields and the connection handling the router wants upstream.
import type { RequestHead } from './parse-request.js';

/** The request head to send upstream. */
export function upstreamHead(h: RequestHead, clientIp: string): string {
  const xff = h.xff === null ? clientIp : `${h.xff}, ${clientIp}`;
  const fh = h.host === null ? '' : `X-Forwarded-Host: ${h.host}\r\n`;
  const conn = h.upgrade !== null ? `Upgrade: ${h.upgrade}\r\nConnection: upgrade\r\n` : h.http10 ? 'Connection: close\r\n' : 'Connection: keep-alive\r\n';
  return `${h.method} ${h.target} HTTP/1.${h.http10 ? 0 : 1}\r\n${h.fwd}X-Forwarded-For: ${xff}\r\nX-Forwarded-Proto: http\r\n${fh}${conn}\r\n`;
}
