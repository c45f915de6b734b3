import { DeployerError, ExitCode } from '../../errors.js';
import type { InstanceSpec } from '../model.js';

export type StartFailure = 'already-running' | 'dir-missing' | 'port-in-use' | 'log-file' | 'spawn';

/** An instance could not be started; the message names the instance (and the port or directory). */
export class InstanceStartError extends DeployerError {
  readonly exitCode = ExitCode.failed;
  readonly app: string;
  readonly id: string;
  readonly reason: StartFailure;
  constructor(spec: InstanceSpec, reason: StartFailure, what: string, options?: { cause?: unknown }) {
    super(`instance ${spec.id}: ${what}`, options);
    this.app = spec.app;
    this.id = spec.id;
    this.reason = reason;
  }
}
