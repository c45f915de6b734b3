import type { CheckSpec, ProbeResult } from './types.js';
import { probeHttp } from './http.js';
import { probeTcp } from './tcp.js';
import { probeProcess } from './process.js';
import { probeCommand } from './command.js';

/** One attempt of a check, limited to attemptTimeoutMs. Never rejects: a failure is a result. */
export async function probeOnce(spec: CheckSpec, attemptTimeoutMs: number, signal?: AbortSignal): Promise<ProbeResult> {
  const started = performance.now();
  try {
    switch (spec.type) {
      case 'http':
        return await probeHttp(spec, attemptTimeoutMs, signal);
      case 'tcp':
        return await probeTcp(spec, attemptTimeoutMs, signal);
      case 'process':
        return await probeProcess(spec);
      case 'command':
        return await probeCommand(spec, attemptTimeoutMs, signal);
      default:
        return fail(`unknown check type ${JSON.stringify((spec as { type: unknown }).type)}`);
    }
  } catch (err) {
    return fail(err instanceof Error ? err.message : String(err));
  }
  function fail(detail: string): ProbeResult {
    return { ok: false, detail, durationMs: performance.now() - started };
  }
}
