import type { Clock } from '../util/clock.js';
import type { AttemptEvent, CheckOutcome, CheckPolicy, CheckSpec, ProbeResult } from './types.js';
import { probeOnce } from './probe.js';
import { formatHostPort } from './tcp.js';
import { displayUrl } from '../util/url.js';

export interface WaitOptions {
  clock: Clock;
  signal?: AbortSignal;
  onAttempt?: (e: AttemptEvent) => void;
  /** names the check in events and outcomes; default describeCheck(spec) */
  label?: string;
  /** the probe to run; default probeOnce (tests pass a fake) */
  probe?: typeof probeOnce;
}

/**
 * Retries the check until it passes or policy.timeoutMs has gone (measured with
 * clock.monotonic()), sleeping policy.intervalMs between attempts (never past the deadline).
 * Each attempt is limited to min(policy.attemptTimeoutMs, time left). Always makes at least one
 * attempt. When the signal aborts, stops and returns a failed outcome with detail 'aborted'.
 */
export async function waitForCheck(spec: CheckSpec, policy: CheckPolicy, opts: WaitOptions): Promise<CheckOutcome> {
  const { clock, signal } = opts;
  const probe = opts.probe ?? probeOnce;
  const check = opts.label ?? describeCheck(spec);
  const started = clock.monotonic();
  const deadline = started + policy.timeoutMs;
  let attempts = 0;
  let lastFull: string | undefined;
  const outcome = (ok: boolean, detail: string): CheckOutcome => ({
    ok,
    check,
    attempts,
    detail,
    durationMs: clock.monotonic() - started,
  });

  for (;;) {
    if (signal?.aborted) return outcome(false, 'aborted');
    const left = deadline - clock.monotonic();
    // the first attempt always runs, with its full limit when the deadline leaves no room
    const limit = attempts === 0 && left <= 0 ? policy.attemptTimeoutMs : Math.min(policy.attemptTimeoutMs, left);
    const result = await runProbe(probe, spec, Math.max(1, Math.ceil(limit)), signal);
    attempts++;
    opts.onAttempt?.({ ...result, check, attempt: attempts });
    if (result.ok) return outcome(true, result.detail);
    if (signal?.aborted) return outcome(false, 'aborted');
    // an attempt cut short by the deadline says less than the last one that had its full time
    if (limit >= policy.attemptTimeoutMs || lastFull === undefined) lastFull = result.detail;

    const remaining = deadline - clock.monotonic();
    if (remaining <= 0) return outcome(false, lastFull);
    try {
      await clock.sleep(Math.min(policy.intervalMs, remaining), signal);
    } catch (err) {
      if (signal?.aborted) return outcome(false, 'aborted');
      throw err;
    }
    if (deadline - clock.monotonic() <= 0) return outcome(false, lastFull);
  }
}

async function runProbe(probe: typeof probeOnce, spec: CheckSpec, ms: number, signal?: AbortSignal): Promise<ProbeResult> {
  try {
    return await probe(spec, ms, signal);
  } catch (err) {
    return { ok: false, detail: err instanceof Error ? err.message : String(err), durationMs: 0 };
  }
}

/** Runs several checks at once, each with its own policy; ok when every one passed. */
export async function waitForAll(
  checks: { spec: CheckSpec; policy: CheckPolicy; label?: string }[],
  opts: Omit<WaitOptions, 'label'>,
): Promise<{ ok: boolean; outcomes: CheckOutcome[] }> {
  const outcomes = await Promise.all(
    checks.map((c) => waitForCheck(c.spec, c.policy, c.label === undefined ? opts : { ...opts, label: c.label })),
  );
  return { ok: outcomes.every((o) => o.ok), outcomes };
}

/** "http http://127.0.0.1:3000/health", "tcp 127.0.0.1:5432", "process name:nginx", "process pid 42", "command test -f ready" */
export function describeCheck(spec: CheckSpec): string {
  switch (spec.type) {
    case 'http':
      return `http ${displayUrl(spec.url)}`;
    case 'tcp':
      return `tcp ${formatHostPort(spec.host, spec.port)}`;
    case 'process':
      if (spec.pid !== undefined) return `process pid ${spec.pid}${spec.name !== undefined ? ` (name:${spec.name})` : ''}`;
      return `process name:${spec.name ?? ''}`;
    case 'command':
      return `command ${spec.command}`;
  }
}

