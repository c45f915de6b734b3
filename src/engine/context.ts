import type { Transport } from '../hosts/transport.js';
import type { LoadedManifest } from '../manifest/load.js';
import type { Plan } from '../plan/steps.js';
import type { PreparedRelease } from '../release/prepare.js';
import type { AppLayout } from '../release/layout.js';
import type { ServiceManager } from '../services/index.js';
import type { RuntimeClient } from '../runtime/client.js';
import type { Redactor } from '../state/redact.js';
import type { Clock } from '../util/clock.js';
import type { CanarySession } from './canary/session.js';
import type { Emit } from './events.js';

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
  /** the embedded runtime's daemon, when the app runs on it */
  runtime?: RuntimeClient;
  /** the plan being run (set by the runner) */
  plan?: Plan;
  /** filled in as the operation goes */
  data: { prepared?: PreparedRelease; version?: string; rollFailures?: string[]; canary?: CanarySession };
}
