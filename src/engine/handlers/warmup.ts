import http from 'node:http';
import type { Step } from '../../plan/steps.js';
import type { StepHandler } from './types.js';

type S = Extract<Step, { kind: 'warmup' }>;

function get(port: number, path: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent: false, timeout: timeoutMs, headers: { 'user-agent': 'deployer-warmup' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/**
 * blue_green.warmup_requests straight to the idle slot (seed 001 `warmup_application`): caches
 * and JIT warm before users arrive. Four at a time; it fails only when no request succeeds.
 */
export const warmupHandler: StepHandler<S> = {
  async run(step, ctx) {
    let next = 0;
    let ok = 0;
    const worker = async () => {
      while (next < step.requests && !ctx.signal?.aborted) {
        const port = step.ports[next++ % step.ports.length]!;
        const status = await get(port, step.path, 10_000);
        if (status >= 200 && status < 400) ok++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, step.requests) }, worker));
    if (ok === 0) throw new Error(`warmup: none of ${step.requests} request(s) to ${step.path} succeeded`);
    return { status: 'done', detail: `${ok}/${step.requests} succeeded` };
  },
};
