/**
 * The few error classes Deployer throws on purpose. The CLI entry catches every error once and
 * maps it to an exit code (DESIGN §6); anything that is not a DeployerError is a bug and is
 * reported as such (exit 1, stack with --verbose).
 */

export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  locked: 3,
  manual: 4,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The gravest of several exit codes (one a host): manual intervention, a held lock, usage, failure; 0 when all are 0. */
export function gravestExit(codes: readonly number[]): number {
  for (const c of [ExitCode.manual, ExitCode.locked, ExitCode.usage, ExitCode.failed]) if (codes.includes(c)) return c;
  return codes.find((c) => c !== 0) ?? ExitCode.ok;
}

export abstract class DeployerError extends Error {
  abstract readonly exitCode: ExitCode;
  /** A short hint shown after the message (how to fix it). */
  hint?: string;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    if (options?.hint) this.hint = options.hint;
  }
}

/** Wrong command-line usage or an argument that is not acceptable (exit 2). */
export class UsageError extends DeployerError {
  readonly exitCode = ExitCode.usage;
}

export interface ManifestIssue {
  /** dot path of the key, e.g. `deployment.keep_releases` or `hooks.build[1]` */
  path: string;
  message: string;
  /** 1-based line in the file the key comes from, when known */
  line?: number;
  file?: string;
}

/** One or more problems with the manifest (exit 2). Every issue names its key path and line. */
export class ManifestError extends DeployerError {
  readonly exitCode = ExitCode.usage;
  readonly issues: ManifestIssue[];
  constructor(issues: ManifestIssue[], options?: { hint?: string }) {
    super(ManifestError.format(issues), options);
    this.issues = issues;
  }
  static format(issues: ManifestIssue[]): string {
    const lines = issues.map((i) => {
      const where = i.file ? `${i.file}${i.line ? `:${i.line}` : ''}: ` : i.line ? `line ${i.line}: ` : '';
      return `${where}${i.path ? `${i.path}: ` : ''}${i.message}`;
    });
    if (lines.length === 1) return lines[0]!;
    return `${lines.length} problems in the manifest:\n${lines.map((l) => `  - ${l}`).join('\n')}`;
  }
}

/** The manifest names a feature that exists in the schema but is not built yet (exit 2). */
export class NotSupportedError extends ManifestError {}

export interface LockOwner {
  deploy_id: string;
  pid: number;
  host: string;
  user: string;
  started: string;
  heartbeat: string;
  command?: string;
}

/** Another deploy holds the lock (exit 3). */
export class LockHeldError extends DeployerError {
  readonly exitCode = ExitCode.locked;
  readonly owner: LockOwner;
  constructor(lockPath: string, owner: LockOwner) {
    super(
      `another deploy holds the lock ${lockPath}: ${owner.command ?? 'deploy'} ${owner.deploy_id} by ${owner.user}@${owner.host} (pid ${owner.pid}), started ${owner.started}, last heartbeat ${owner.heartbeat}`,
      { hint: 'wait for it to finish; if its process is gone, run `deployer unlock` (or `deployer unlock --force`)' },
    );
    this.owner = owner;
  }
}

/** A health check did not pass before its deadline. */
export class HealthCheckFailed extends DeployerError {
  readonly exitCode = ExitCode.failed;
}

/** A step of a plan failed (and what was done about it); carries the host and the step. */
export class StepFailed extends DeployerError {
  readonly exitCode = ExitCode.failed;
  readonly host: string;
  constructor(host: string, what: string, outcome: string, options?: { hint?: string }) {
    super(`${what}; ${outcome}`, options);
    this.host = host;
  }
}

/** A deploy failed and was (or was not) rolled back: exit 1. */
export class DeployFailed extends DeployerError {
  readonly exitCode = ExitCode.failed;
}

/** Going back failed too: a human must look (exit 4). */
export class ManualInterventionRequired extends DeployerError {
  readonly exitCode = ExitCode.manual;
}

/** A source (directory, archive, repository) cannot be used. */
export class SourceError extends DeployerError {
  readonly exitCode = ExitCode.failed;
}

/** An archive holds an entry that would escape the release or is not a plain file/dir/link. */
export class UnsafeArchiveError extends SourceError {}

/** A host cannot be reached or refused us (ssh: connection, host key, user): exit 1, named. */
export class HostUnreachable extends DeployerError {
  readonly exitCode = ExitCode.failed;
  readonly host: string;
  constructor(host: string, message: string, options?: { hint?: string }) {
    super(`${host}: ${message}`, options);
    this.host = host;
  }
}

/** A host of a fleet was told to stop before it changed anything, because another host failed. */
export class FleetStopped extends DeployerError {
  readonly exitCode = ExitCode.failed;
}

/** A fleet operation did not succeed everywhere; the exit code is the gravest of its hosts'. */
export class FleetFailed extends DeployerError {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    options?: { hint?: string },
  ) {
    super(message, options);
  }
}

/** An external command failed. */
export class CommandFailed extends DeployerError {
  readonly exitCode = ExitCode.failed;
}

/** The disk (or the user's quota) is full while Deployer writes `path` (exit 1). */
export class DiskFullError extends DeployerError {
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly path: string,
    options?: { cause?: unknown },
  ) {
    super(`the disk is full (ENOSPC): no space left to write ${path}`, {
      ...options,
      hint: 'free space on that filesystem, then run `deployer doctor --repair` (the live release was left serving)',
    });
  }
}

/** ENOSPC, or EDQUOT (a quota is a full disk for that user). */
export function isDiskFull(err: unknown): boolean {
  return err instanceof DiskFullError || ['ENOSPC', 'EDQUOT'].includes((err as NodeJS.ErrnoException | null)?.code ?? '');
}

/** A disk-full error as a DiskFullError naming `path`; any other error as it is. */
export function asDiskFull(err: unknown, path: string): unknown {
  return isDiskFull(err) && !(err instanceof DiskFullError) ? new DiskFullError(path, { cause: err }) : err;
}

export function errorMessage(err: unknown): string {
  // the system's "ENOSPC: no space left on device, copyfile 'a' -> 'b'" said in words first
  if (isDiskFull(err) && !(err instanceof DiskFullError)) return `the disk is full: ${(err as Error).message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/**
 * A router (nginx, HAProxy, the embedded one) refused a change or could not be reached. `key` is
 * the manifest key that names the thing at fault (`router.nginx.test_command`,
 * `router.haproxy.admin_socket`); the message starts with it.
 */
export class RouterError extends DeployerError {
  readonly exitCode = ExitCode.failed;
  constructor(
    readonly key: string,
    message: string,
    opts?: { hint?: string; cause?: unknown },
  ) {
    super(`${key}: ${message}`, opts);
  }
}
