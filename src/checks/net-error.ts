/** Short, stable descriptions of the socket errors a health check meets. */
const byCode: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ETIMEDOUT: 'connection timed out',
  EADDRNOTAVAIL: 'address not available',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  HPE_INVALID_CONSTANT: 'invalid HTTP response',
  HPE_INVALID_STATUS: 'invalid HTTP response',
};

export function describeNetError(err: unknown): string {
  const e = err as (Error & { code?: unknown; errors?: unknown[] }) | undefined;
  // happy-eyeballs connects (autoSelectFamily) report an AggregateError without a code of its own
  const inner = !e?.code && Array.isArray(e?.errors) ? (e.errors[0] as typeof e) : e;
  const code = typeof inner?.code === 'string' ? inner.code : undefined;
  if (code && byCode[code]) return byCode[code];
  const message = inner instanceof Error && inner.message ? inner.message : String(err);
  return code && !message.includes(code) ? `${code}: ${message}` : message;
}
