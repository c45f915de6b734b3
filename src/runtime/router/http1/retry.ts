// Which failed attempts of a proxied request may go to another target.
import type { Upstream } from './upstream-pool.js';

/** Connect failures: the target is not there; mark it unhealthy and retry elsewhere. */
const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'ENOTFOUND']);
/** The connection broke before any response byte (e.g. a kept-alive socket the target closed): retry elsewhere. */
const RESETS = new Set(['ECONNRESET', 'EPIPE', 'EOF']);
/** the failure code of a response head that did not come in time (answered 504) */
export const HEADERS_TIMEOUT = 'HEADERS_TIMEOUT';

export function idempotent(method: string): boolean {
  switch (method) {
    case 'GET':
    case 'HEAD':
    case 'OPTIONS':
    case 'PUT':
    case 'DELETE':
    case 'TRACE':
      return true;
    default:
      return false;
  }
}

export const enum Failure {
  /** not retried: the request may have reached the target */
  Final,
  /** the connect failed: nothing reached the target, so any method may go elsewhere */
  Connect,
  /** a reset or EOF before any response byte on a reused connection, for a retryable request */
  StaleReuse,
}

/**
 * Classifies an attempt that failed before any response byte came (`code` as in onUpClose).
 * A reset or EOF is retried only for an idempotent request on a kept-alive connection (the target
 * closed it idle); on a fresh connection the target got the request and may have died of it.
 */
export function classifyFailure(code: string, up: Upstream, retryable: boolean): Failure {
  if (!up.connected && CONNECT_FAILURES.has(code)) return Failure.Connect;
  if (retryable && up.reused && RESETS.has(code)) return Failure.StaleReuse;
  return Failure.Final;
}
