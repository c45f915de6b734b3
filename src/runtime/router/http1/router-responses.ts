// The responses the router makes itself, as raw HTTP/1.1 text: gateway errors when no target
// answers a proxied request (502/503/504) and answers to requests it does not forward
// (400/404/408/431/501).

const GATEWAY_REASONS: Record<number, string> = { 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout' };
const GATEWAY_BODIES: Record<number, string> = { 502: 'bad gateway: the target did not answer\n', 503: 'service unavailable: no target is available\n', 504: 'gateway timeout: the target did not answer in time\n' };

/** A 502/503/504 for a proxied request; `close` adds Connection: close. */
export function gatewayResponse(status: 502 | 503 | 504, close: boolean): string {
  const body = GATEWAY_BODIES[status]!;
  return `HTTP/1.1 ${status} ${GATEWAY_REASONS[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${body.length}\r\n${status === 503 ? 'retry-after: 1\r\n' : ''}${close ? 'connection: close\r\n' : ''}\r\n${body}`;
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 501: 'Not Implemented' };

/** A response to a request the router does not forward; `close` adds Connection: close. */
export function plainResponse(status: number, body: string, close: boolean): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${close ? 'connection: close\r\n' : ''}\r\n${body}`;
}

/** The default body of a refusal: the status text and why. */
export function refusalBody(status: number, why: string): string {
  return `${STATUS_TEXT[status]?.toLowerCase() ?? 'error'}: ${why}\n`;
}

/** An error response after which the connection closes. */
export function refusalResponse(status: number, body: string): string {
  return `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}
