// The InstanceManager interface: what starts the instances of a release on their ports, side by
// side with another release's (blue-green, canary, rolling). One file per adapter: the embedded
// supervisor (process) now; systemd, Docker and supervisord next. Restart-only managers for
// recreate (script, signal, none) are `ServiceManager`s instead.

/** One instance of a release: `<pool>-<i>` on its port. */
export interface InstanceRef {
  id: string;
  port: number;
}

export type InstanceState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed';

/** An instance the manager runs (or ran), as it reports it. */
export interface RunningInstance extends InstanceRef {
  pool: string;
  release: string;
  state: InstanceState;
  /** host the instance listens on, as a router reaches it */
  host: string;
  restarts?: number;
}

export interface InstanceManager {
  readonly kind: string;
  /** Starts a release's instances in a pool (no traffic: that is the router's). Safe to repeat. */
  start(pool: string, release: string, instances: InstanceRef[]): Promise<void>;
  /** Resolves once every instance answers its health check; HealthCheckFailed naming the others, with their log tails. */
  waitHealthy(ids: string[], timeoutMs: number): Promise<void>;
  /** Stops instances (SIGTERM, then SIGKILL after stop_timeout). Instances already gone are fine. */
  stop(ids: string[]): Promise<void>;
  /** Stops a pool after delayMs (kept warm for an instant rollback); null cancels a scheduled stop. */
  stopPoolAfter(pool: string, delayMs: number | null): Promise<{ stopAt: string | null }>;
  /** Restarts one instance on the release it runs. */
  restart(id: string): Promise<void>;
  /** The app's instances as the manager sees them now (after a crash: what it adopted). */
  list(): Promise<RunningInstance[]>;
  /** Before an operation changes anything: registers the app with the manager (nothing changes when it refuses). */
  open?(): Promise<void>;
  /** After a first deploy that left nothing running: the manager forgets the app. */
  forgetIfEmpty?(): Promise<void>;
}
