import type { Transport } from '../hosts/transport.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { Plan } from '../plan/steps.js';
import type { PreparedRelease } from '../release/prepare.js';
import type { AppLayout } from '../release/layout.js';
import type { ServiceManager } from '../services/manager.js';
import type { Router } from '../routers/types.js';
import type { InstanceManager } from '../services/instance-manager.js';
import type { Redactor } from '../state/redact.js';
import type { Clock } from '../util/clock.js';
import type { CanarySession } from './canary/session.js';
import type { Emit } from './events.js';

/** What a host of a fleet is told by the machine driving it. */
export interface FleetRole {
  /** this host runs the hooks marked `run_once` */
  primary: boolean;
  /** the release tree was uploaded here (rsync/tar) by the machine driving the deploy */
  upload?: { dir: string; staged: StagedRelease };
}

/** The release as the driving machine prepared it, before upload: what its metadata records. */
export interface StagedRelease {
  source: string;
  sourceType: 'local' | 'archive' | 'git';
  gitCommit: string | null;
  gitBranch: string | null;
  detectedVersion: string | null;
  checksum: string;
  /** the tree as staged: what its metadata records */
  files: number;
  bytes: number;
}

/** Everything a step handler may use. One per operation on one host. */
export interface RunContext {
  transport: Transport;
  /** how the host is named in output */
  hostName: string;
  layout: AppLayout;
  loaded: LoadedManifest;
  service: ServiceManager;
  deployId: string;
  strategy: string;
  clock: Clock;
  emit: Emit;
  redactor: Redactor;
  /** $DEPLOYER_HOME: caches live under it */
  home: string;
  /** --version from the command line */
  versionOverride?: string;
  signal?: AbortSignal;
  /**
   * Connects what runs the app's instances (the runtime daemon for `manager: process`), starting
   * it unless `connectOnly`; set by the wiring. `note` says what was started.
   */
  connectInstances?: (connectOnly?: boolean) => Promise<{ connected: boolean; started: boolean; note: string | null }>;
  /** what splits traffic between the app's pools (embedded, nginx, haproxy, none) */
  router?: Router;
  /** what runs the app's instances side by side (the embedded supervisor; systemd, docker... next) */
  instances?: InstanceManager;
  /** the plan being run (set by the runner) */
  plan?: Plan;
  /** set when this host is one of a fleet driven over SSH (the agent side) */
  fleet?: FleetRole;
  /** records in the running step's journal entry where it has got to (set by the runner) */
  note?: (progress: Record<string, number | string | null>) => Promise<void>;
  /** filled in as the operation goes */
  data: { prepared?: PreparedRelease; version?: string; canary?: CanarySession };
}

/** The context's router; a step that moves traffic cannot run without one. */
export function routerOf(ctx: RunContext): Router {
  if (!ctx.router) throw new Error('this step moves traffic, and no router is configured (router.type)');
  return ctx.router;
}

/** The context's instance manager; a step that starts or stops instances cannot run without one. */
export function instancesOf(ctx: RunContext): InstanceManager {
  if (!ctx.instances) throw new Error('this step runs instances side by side, and the service manager cannot (service.manager)');
  return ctx.instances;
}
