import type { Transport } from '../hosts/transport.js';

export interface ActivationContext {
  transport: Transport;
  appRoot: string;
  releaseDir: string;
  releaseId: string;
  /** environment for commands: the manifest's environment: plus DEPLOY_* */
  env: NodeJS.ProcessEnv;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  signal?: AbortSignal;
}

/** What (re)starts the app once `current` points at a release. */
export interface ServiceManager {
  readonly kind: string;
  /** make the app run the release `current` now points at */
  restart(ctx: ActivationContext): Promise<void>;
}
