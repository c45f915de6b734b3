import { join } from 'node:path';

/** Where the runtime keeps its files: one daemon per user per host, under $DEPLOYER_HOME/runtime. */
export interface RuntimePaths {
  dir: string;
  /** the daemon's control API */
  control: string;
  /** the router process's own control API (the daemon talks to it) */
  router: string;
  /** desired state, restored when the daemon restarts */
  state: string;
  /** who runs the daemon: {pid, start, boot}; the lock itself is a name the kernel holds (daemon/lock.ts) */
  lock: string;
  daemonLog: string;
  routerLog: string;
}

export function runtimePaths(home: string): RuntimePaths {
  const dir = join(home, 'runtime');
  return {
    dir,
    control: join(dir, 'ctl.sock'),
    router: join(dir, 'router.sock'),
    state: join(dir, 'state.json'),
    lock: join(dir, 'daemon.lock'),
    daemonLog: join(dir, 'daemon.log'),
    routerLog: join(dir, 'router.log'),
  };
}

/** Linux refuses unix socket paths over 107 bytes. */
export const MAX_SOCKET_PATH = 107;
