// Fakes for the rolling steps' tests: a router and an instance manager that keep in memory which
// instance runs which release and which is in rotation, logging each call.
import type { PlannedStep } from '../plan/steps.js';
import type { Router } from '../routers/types.js';
import type { InstanceManager, RunningInstance } from '../services/instance-manager.js';

export interface FakeInstance {
  release: string;
  port: number;
  pool: string;
  running: boolean;
  /** in the router's rotation */
  inRotation: boolean;
}

/** One pool `stable` of instances `stable-<i>` on ports 4000+i, all running `release` and in rotation. */
export class FakeFleet {
  readonly log: string[] = [];
  readonly instances = new Map<string, FakeInstance>();
  /** `<id>@<release>` that never gets healthy */
  readonly unhealthy = new Set<string>();
  /** called when stop is asked, before it does anything (a test snapshots the journal there) */
  onStop: (ids: string[]) => Promise<void> = async () => {};

  constructor(count: number, release: string) {
    for (let i = 0; i < count; i++) this.instances.set(`stable-${i}`, { release, port: 4000 + i, pool: 'stable', running: true, inRotation: true });
  }

  /** id -> release, with `(out)` when it is out of rotation and `(stopped)` when not running. */
  state(): Record<string, string> {
    return Object.fromEntries([...this.instances].map(([id, i]) => [id, `${i.release}${i.running ? '' : ' (stopped)'}${i.inRotation ? '' : ' (out)'}`]));
  }

  get router(): Router {
    const at = (id: string) => this.instances.get(id)!;
    return {
      kind: 'embedded',
      capabilities: { weights: true, routes: true, drain: true, counts: true, latency: true },
      declarePools: async () => {},
      setWeights: async () => {},
      setRoutes: async () => {},
      drain: async (id) => {
        this.log.push(`drain ${id}`);
        at(id).inRotation = false;
      },
      enable: async (id) => {
        this.log.push(`enable ${id}`);
        at(id).inRotation = true;
      },
      live: async () => null,
    };
  }

  get manager(): InstanceManager {
    const at = (id: string) => this.instances.get(id)!;
    return {
      kind: 'fake',
      start: async (pool, release, refs) => {
        for (const r of refs) {
          this.log.push(`start ${r.id} ${release}`);
          // a new target starts out of rotation until enabled
          this.instances.set(r.id, { release, port: r.port, pool, running: true, inRotation: false });
        }
      },
      waitHealthy: async (ids) => {
        const bad = ids.filter((id) => this.unhealthy.has(`${id}@${at(id).release}`));
        if (bad.length) throw new Error(`${bad.join(', ')} did not get healthy`);
      },
      stop: async (ids) => {
        await this.onStop(ids);
        for (const id of ids) {
          this.log.push(`stop ${id}`);
          Object.assign(at(id), { running: false, inRotation: false });
        }
      },
      stopPoolAfter: async () => ({ stopAt: null }),
      restart: async () => {},
      list: async () =>
        [...this.instances].map(([id, i]): RunningInstance => ({ id, port: i.port, pool: i.pool, release: i.release, state: i.running ? 'running' : 'stopped', host: '127.0.0.1' })),
    };
  }
}

/** The rolling steps of `ids` (pool stable, ports 4000+i) from `from` to `to`, one batch per instance as batch_size 1 plans them. */
export function rollingPlanSteps(count: number, from: string, to: string): PlannedStep[] {
  return Array.from({ length: count }, (_, i): PlannedStep[] => {
    const id = `stable-${i}`;
    const at = { batch: i + 1, group: id, onError: 'abort' as const, live: true };
    const ref = { id, port: 4000 + i, pool: 'stable' };
    return [
      { step: { kind: 'drain_target', id, pool: 'stable', timeoutMs: 1000 }, ...at },
      { step: { kind: 'stop_instance', ...ref, release: from }, ...at },
      { step: { kind: 'start_instance', ...ref, release: to }, ...at },
      { step: { kind: 'enable_target', id, pool: 'stable', timeoutMs: 1000 }, ...at },
    ];
  }).flat();
}
