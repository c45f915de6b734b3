import { spawn, type ChildProcess } from 'node:child_process';
import { HostUnreachable } from '../errors.js';
import { runProcess, type RunOptions, type RunResult } from '../util/process.js';
import { sshCommand, sshExitMaster, type SshSettings } from './ssh-args.js';
import type { HostTarget } from './targets.js';

/**
 * ssh's own failures (exit 255) put into words, naming the host. A changed host key is never
 * accepted: ssh refuses it (BatchMode, StrictHostKeyChecking), and a warning that it changed is
 * refused here even where a config says `StrictHostKeyChecking no`.
 */
export function sshFailure(host: string, r: Pick<RunResult, 'code' | 'stderr'>): HostUnreachable | null {
  const err = r.stderr;
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed|host key .*mismatch/i.test(err))
    return new HostUnreachable(host, 'its host key has changed since it was recorded in known_hosts; refusing to connect', {
      hint: 'if the host was rebuilt, check its new key out of band, then `ssh-keygen -R <host>` and connect once by hand',
    });
  if (r.code !== 255) return null;
  const last = err.trim().split('\n').filter(Boolean).pop() ?? 'ssh failed';
  if (/Host key verification failed|No .* host key is known/i.test(err))
    return new HostUnreachable(host, 'its host key is not in known_hosts (or does not match); refusing to connect', {
      hint: 'check the key out of band and add it to known_hosts (ssh-keyscan, then compare fingerprints)',
    });
  if (/Permission denied/i.test(err)) return new HostUnreachable(host, `authentication failed (${last})`, { hint: 'check ssh.user / the host\'s user, the key (ssh.identity_file) and the agent' });
  if (/Connection refused/i.test(err)) return new HostUnreachable(host, 'connection refused: is sshd running on it?');
  if (/timed out|No route to host|Network is unreachable|Could not resolve hostname|Name or service not known/i.test(err)) return new HostUnreachable(host, `cannot be reached (${last})`);
  if (/Connection closed|Connection reset|Broken pipe|closed by remote host|Control socket connect/i.test(err)) return new HostUnreachable(host, `the connection dropped (${last})`);
  // ssh says nothing when the other end vanished (the host died, its sshd was killed)
  return new HostUnreachable(host, err.trim() ? last : 'the connection dropped (ssh exited 255 without a word)');
}

/** One remote host reached with the system OpenSSH client, multiplexed over a ControlMaster connection. */
export class SshHost {
  constructor(
    readonly target: HostTarget,
    readonly settings: SshSettings,
  ) {}

  get name(): string {
    return this.target.name;
  }

  /** Runs argv on the host; never through a shell unquoted. Resolves with ssh's result (255: ssh itself failed). */
  exec(remote: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return runProcess(sshCommand(this.target, this.settings, remote), { env: process.env, ...opts });
  }

  /** Like exec, but an ssh failure throws HostUnreachable naming the host. */
  async run(remote: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.exec(remote, opts);
    const failure = sshFailure(this.name, r);
    if (failure) throw failure;
    return r;
  }

  /**
   * A long-running remote program with its stdin/stdout piped (the agent). In its own process
   * group: Ctrl-C at the terminal reaches the driver alone, which tells each host to stop and
   * hears how it ended, rather than cutting every connection at once.
   */
  spawn(remote: readonly string[]): ChildProcess {
    const [cmd, ...args] = sshCommand(this.target, this.settings, remote);
    return spawn(cmd!, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  }

  /** Closes the master connection; quiet when there is none. */
  async close(): Promise<void> {
    await runProcess(sshExitMaster(this.target, this.settings), { timeoutMs: 5000 });
  }
}
