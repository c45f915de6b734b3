import net from 'node:net';
import type { CheckSpec, ProbeResult } from './types.js';
import { describeNetError } from './net-error.js';

type TcpSpec = Extract<CheckSpec, { type: 'tcp' }>;

/** Connects to host:port and closes at once; passes when the connection is accepted. Never rejects. */
export function probeTcp(spec: TcpSpec, attemptTimeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  const where = formatHostPort(spec.host, spec.port);
  if (signal?.aborted) return Promise.resolve({ ok: false, detail: 'aborted', durationMs: 0 });
  return new Promise((resolve) => {
    let settled = false;
    const socket = net.connect({ host: spec.host, port: spec.port });
    const timer = setTimeout(() => finish(false, `timed out after ${attemptTimeoutMs} ms`), attemptTimeoutMs);
    const onAbort = () => finish(false, 'aborted');
    signal?.addEventListener('abort', onAbort, { once: true });
    function finish(ok: boolean, detail: string) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      resolve({ ok, detail, durationMs: performance.now() - started });
    }
    socket.on('connect', () => finish(true, `connected to ${where}`));
    socket.on('error', (err) => finish(false, describeNetError(err)));
  });
}

export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
