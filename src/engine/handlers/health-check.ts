import { HealthCheckFailed } from '../../errors.js';
import { waitForAll } from '../../checks/wait.js';
import { resolveCheck, type CheckTemplate } from '../../manifest/checks.js';
import type { Step } from '../../plan/steps.js';
import type { RunContext } from '../context.js';
import type { StepHandler } from './types.js';

type S = Extract<Step, { kind: 'health_check' }>;

/** Checks every template against a release; throws HealthCheckFailed naming each failing check. */
export async function checkRelease(templates: CheckTemplate[], release: string, ctx: RunContext, where: { ports?: number[]; pool?: string } = {}): Promise<string> {
  const ports: (number | string)[] = where.ports?.length ? where.ports : [ctx.loaded.manifest.service.base_port ?? ''];
  const seen = new Set<string>();
  const checks = ports.flatMap((port) =>
    templates.flatMap((t) => {
      const r = resolveCheck(t, { port, host: '127.0.0.1', release, pool: where.pool ?? '' });
      // a check without {port} is the same for every instance: run it once
      const key = JSON.stringify(r.spec);
      if (seen.has(key)) return [];
      seen.add(key);
      const spec = r.spec.type === 'command' ? { ...r.spec, cwd: ctx.layout.release(release), env: { ...process.env, ...ctx.loaded.manifest.environment } } : r.spec;
      return [{ spec, policy: r.policy, label: r.label }];
    }),
  );
  const started = ctx.clock.monotonic();
  const { ok, outcomes } = await waitForAll(checks, {
    clock: ctx.clock,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    onAttempt: (a) => ctx.emit({ type: 'check_attempt', check: a.check, attempt: a.attempt, ok: a.ok, detail: a.detail, durationMs: a.durationMs }),
  });
  if (!ok) {
    const failed = outcomes.filter((o) => !o.ok);
    throw new HealthCheckFailed(
      `health check failed for ${release}: ${failed.map((o) => `${o.check}: ${o.detail} (${o.attempts} attempt${o.attempts === 1 ? '' : 's'})`).join('; ')}`,
    );
  }
  return `${outcomes.length} passed in ${Math.round(ctx.clock.monotonic() - started)} ms`;
}

export const healthCheckHandler: StepHandler<S> = {
  async run(step, ctx) {
    return { status: 'done', detail: await checkRelease(ctx.loaded.checks, step.release, ctx, { ...(step.ports ? { ports: step.ports } : {}), ...(step.pool ? { pool: step.pool } : {}) }) };
  },
};
