import { spawn } from 'node:child_process';
import { DeployFailed } from '../errors.js';
import { rsyncCommand, sshCommand } from '../hosts/ssh-args.js';
import { sshFailure, type SshHost } from '../hosts/ssh.js';
import { runProcess } from '../util/process.js';

export interface UploadResult {
  method: 'rsync' | 'tar';
  ms: number;
}

/**
 * Puts the staged release tree into `to` on the host. rsync when the host has it, hard-linking
 * what is unchanged since `linkDest` (the host's previous release); otherwise one tar stream.
 */
export async function uploadTree(h: SshHost, from: string, to: string, linkDest: string | null, hostHasRsync: boolean, signal?: AbortSignal): Promise<UploadResult> {
  const started = performance.now();
  if (hostHasRsync) {
    const r = await runProcess(rsyncCommand(h.target, h.settings, from, to, linkDest), { env: process.env, timeoutMs: 3_600_000, ...(signal ? { signal } : {}) });
    if (r.code !== 0) {
      throw sshFailure(h.name, r) ?? new DeployFailed(`${h.name}: upload (rsync) to ${to} failed (${r.code === null ? 'stopped' : `exit ${r.code}`}): ${lastLine(r.stderr)}`);
    }
    return { method: 'rsync', ms: performance.now() - started };
  }
  await tarPipe(h, from, to, signal);
  return { method: 'tar', ms: performance.now() - started };
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).pop() ?? '';
}

const UNTAR = 'set -e; mkdir -p "$1"; tar -xf - -C "$1"';

/** `tar -c` here piped into `tar -x` there, over the same connection. */
function tarPipe(h: SshHost, from: string, to: string, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // their own process group, like runProcess: Ctrl-C is the driver's to act on
    const pack = spawn('tar', ['-C', from, '-cf', '-', '.'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const [cmd, ...args] = sshCommand(h.target, h.settings, ['sh', '-c', UNTAR, 'untar', to]);
    const unpack = spawn(cmd!, args, { stdio: ['pipe', 'ignore', 'pipe'], detached: true });
    let err = '';
    unpack.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    pack.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    pack.stdout!.pipe(unpack.stdin!);
    unpack.stdin!.on('error', () => undefined);
    const onAbort = () => {
      pack.kill('SIGKILL');
      unpack.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const closed = (p: ReturnType<typeof spawn>) => new Promise<number | null>((r) => p.on('close', (c) => r(c)));
    void Promise.all([closed(pack), closed(unpack)]).then(([packCode, code]) => {
      signal?.removeEventListener('abort', onAbort);
      if (code === 0 && packCode === 0) return resolve();
      reject(sshFailure(h.name, { code, stderr: err }) ?? new DeployFailed(`${h.name}: upload (tar) to ${to} failed (exit ${code}): ${lastLine(err)}`));
    });
  });
}
