import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, statSync } from 'node:fs';
import { errorMessage } from '../../errors.js';
import type { InstanceSpec } from '../model.js';
import { InstanceStartError } from './errors.js';
import { openLogForAppend } from './log-file.js';
import { portInUse } from './port.js';

/** What must hold before spawning: the directory exists and nobody listens on the port. */
export async function preflight(spec: InstanceSpec): Promise<void> {
  let isDir = false;
  try {
    isDir = statSync(spec.dir).isDirectory();
  } catch {
    // missing: said below
  }
  if (!isDir) throw new InstanceStartError(spec, 'dir-missing', `directory ${spec.dir} does not exist`);
  if (await portInUse(spec.port)) throw new InstanceStartError(spec, 'port-in-use', `port ${spec.port} is already in use by another process`);
}

/**
 * Spawns `/bin/sh -c command` in its own session and process group (a signal to -pid reaches
 * everything it starts; the daemon's death does not), stdin closed, stdout and stderr straight
 * into the log file: the daemon can be SIGKILLed and the instance keeps running and logging.
 */
export function spawnInstance(spec: InstanceSpec): ChildProcess {
  let fd: number;
  try {
    fd = openLogForAppend(spec.logFile);
  } catch (e) {
    throw new InstanceStartError(spec, 'log-file', `cannot open its log file ${spec.logFile}: ${errorMessage(e)}`, { cause: e });
  }
  try {
    return spawn('/bin/sh', ['-c', shellLine(spec.command)], {
      cwd: spec.dir,
      env: { ...process.env, ...spec.env, PORT: String(spec.port) },
      detached: true,
      stdio: ['ignore', fd, fd],
    });
  } catch (e) {
    throw new InstanceStartError(spec, 'spawn', `could not start /bin/sh -c ${JSON.stringify(spec.command)}: ${errorMessage(e)}`, { cause: e });
  } finally {
    // the child has its own copies by now
    closeSync(fd);
  }
}

/** Resolves once the child runs; rejects with the spawn error (its 'error' event) otherwise. */
export function spawned(spec: InstanceSpec, child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => {
      child.off('spawn', onSpawn);
      reject(new InstanceStartError(spec, 'spawn', `could not start /bin/sh -c ${JSON.stringify(spec.command)}: ${e.message}`, { cause: e }));
    };
    const onSpawn = () => {
      child.off('error', onError);
      resolve(child.pid!);
    };
    child.once('error', onError);
    child.once('spawn', onSpawn);
  });
}

/**
 * A simple command (words only: no `;`, `&`, `|`, redirections, substitutions or newlines) is
 * run with `exec`, so the app itself is the process the supervisor watches and signals, and its
 * pid is the one status shows. Anything else runs as the shell script it is.
 */
export function shellLine(command: string): string {
  const line = command.trim();
  const first = line.split(/\s+/)[0] ?? '';
  // `VAR=x cmd` and builtins (cd, export, ulimit, ...) cannot follow exec
  const simple = /^[^;&|<>()`$\\\n'"]+$/.test(line) && !first.includes('=') && !SHELL_WORDS.has(first);
  return simple ? `exec ${line}` : command;
}

const SHELL_WORDS = new Set(['exec', 'cd', 'export', 'set', 'unset', 'ulimit', 'umask', '.', 'source', 'if', 'for', 'while', 'until', 'case', 'trap', 'eval', 'wait', 'readonly', 'alias', ':', 'true', 'false', 'exit', 'return', 'shift', 'times', 'type', 'read', 'echo', 'printf', 'test', '[', 'command', 'builtin', 'local']);
