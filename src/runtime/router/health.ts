// Active health checks: per target, one probe at a time (HTTP GET of health.path, or a TCP connect),
// every health.intervalMs on an unref'd timer; results move the target's state by the thresholds.
import { request } from 'node:http';
import { connect } from 'node:net';
import { displayUrl } from '../../util/url.js';
import type { RouterHealth, TargetState } from '../model.js';

export interface HealthSubject {
  state: TargetState;
  okStreak: number;
  failStreak: number;
}

/** The state after one probe result (streaks updated in place). Draining/disabled stay as they are. */
export function nextHealthState(t: HealthSubject, ok: boolean, h: RouterHealth): TargetState {
  if (ok) {
    t.okStreak++;
    t.failStreak = 0;
  } else {
    t.failStreak++;
    t.okStreak = 0;
  }
  switch (t.state) {
    case 'unknown':
      if (ok) return 'healthy';
      return t.failStreak >= h.unhealthyThreshold ? 'unhealthy' : 'unknown';
    case 'healthy':
      return !ok && t.failStreak >= h.unhealthyThreshold ? 'unhealthy' : 'healthy';
    case 'unhealthy':
      return ok && t.okStreak >= h.healthyThreshold ? 'healthy' : 'unhealthy';
    default:
      return t.state;
  }
}

/** One probe: null when it passed, else why it failed. */
export function probe(host: string, port: number, path: string | null, timeoutMs: number): Promise<string | null> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (err: string | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(err);
    };
    const timer = setTimeout(() => {
      done(`health check timed out after ${timeoutMs} ms`);
      cleanup();
    }, timeoutMs);
    timer.unref();
    let cleanup: () => void;
    if (path === null) {
      const s = connect({ host, port });
      cleanup = () => s.destroy();
      s.once('connect', () => {
        s.destroy();
        done(null);
      });
      s.once('error', (e) => done(`tcp connect: ${e.message}`));
    } else {
      const req = request({ host, port, path, method: 'GET', agent: false, headers: { connection: 'close', 'user-agent': 'deployer-router-health' } }, (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        res.once('error', () => undefined);
        done(status >= 200 && status < 400 ? null : `GET ${displayUrl(path)} answered ${status}`);
        req.destroy();
      });
      cleanup = () => req.destroy();
      // the path may carry a token in its query string: the reason goes to logs and status
      req.once('error', (e) => done(`GET ${displayUrl(path)}: ${e.message}`));
      req.end();
    }
  });
}
