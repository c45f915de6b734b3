// Waiting for an instance to pass the router's checks. It fails at once, with the end of the
// instance's log, when the process exits before that (a command that dies at start needs no timeout).
import type { Supervisor } from '../supervisor/index.js';
import type { RouterProcess } from './router-process.js';

export interface HealthWait {
  healthy: boolean;
  detail: string;
  logTail?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitInstanceHealthy(supervisor: Supervisor, router: RouterProcess, now: () => number, app: string, id: string, timeoutMs: number): Promise<HealthWait> {
  const deadline = now() + timeoutMs;
  for (;;) {
    const s = supervisor.get(app, id);
    if (!s || s.state === 'failed' || (s.state === 'backoff' && s.lastExit)) {
      const exit = s?.lastExit;
      const how = exit ? (exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`) : 'is not running';
      return { healthy: false, detail: `instance ${id} ${how} before it became healthy`, logTail: supervisor.logTail(app, id, 15) };
    }
    const left = deadline - now();
    const r = await router
      .call<{ healthy: boolean; state: string; lastError: string | null }>('GET', `/apps/${encodeURIComponent(app)}/targets/${encodeURIComponent(id)}/wait-healthy?timeoutMs=${Math.max(0, Math.min(250, left))}`)
      .catch((e: Error) => ({ healthy: false, state: 'unknown', lastError: e.message }));
    if (r.healthy) return { healthy: true, detail: 'healthy' };
    if (now() >= deadline) return { healthy: false, detail: `instance ${id} not healthy after ${timeoutMs} ms: ${r.lastError ?? r.state}`, logTail: supervisor.logTail(app, id, 15) };
    await sleep(20);
  }
}
