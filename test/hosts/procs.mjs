// Processes and commands for the namespaced hosts (test/hosts/hosts.mjs): run a command, list a
// network namespace's processes, read a process's PID-namespace pids, wait for a condition.
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

/** Runs `cmd args` and returns its stdout; throws with its stderr. */
export function run(cmd, args, o = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000, ...o });
  } catch (e) {
    throw new Error(`${[cmd, ...args].join(' ')} failed: ${String(e.stderr || e.message).trim()}`, { cause: e });
  }
}

/** Resolves whether `cmd args` exits 0 within timeoutMs (its output is dropped). */
export function succeeds(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (e) => resolve(!e));
  });
}

/** The pids (as this machine sees them) of the processes in network namespace `ns`. */
export function netnsPids(ns) {
  return run('ip', ['netns', 'pids', ns])
    .split('\n')
    .filter((l) => l.trim())
    .map(Number);
}

/** /proc/<pid>/status's NSpid: the pid in each nested PID namespace, outermost first; undefined when gone. */
export function nsPids(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('NSpid:'));
    return line?.slice('NSpid:'.length).trim().split(/\s+/).map(Number);
  } catch {
    return undefined;
  }
}

/** A process's command name (sshd, sshd-session, ...); undefined when gone. */
export function comm(pid) {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** PID 1 of a PID namespace of its own (a host's init), as opposed to the machine's pid 1. */
export function isNamespaceInit(pid) {
  const ns = nsPids(pid);
  return ns !== undefined && ns.length > 1 && ns.at(-1) === 1;
}

/** Sends `signal` to pid; false when it is gone already. */
export function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` until it returns true, or throws `what` after the deadline. */
export async function pollUntil(check, what, timeoutMs, everyMs = 25) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** How a TCP connect to addr:port ends: 'open', 'refused', or another error code. */
export function probePort(addr, port, timeoutMs = 1000) {
  return new Promise((resolve) => {
    const s = connect({ host: addr, port });
    const done = (what) => {
      s.destroy();
      resolve(what);
    };
    s.setTimeout(timeoutMs, () => done('timeout'));
    s.once('connect', () => done('open'));
    s.once('error', (e) => done(e.code === 'ECONNREFUSED' ? 'refused' : (e.code ?? e.message)));
  });
}
