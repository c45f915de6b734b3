import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redactor } from '../state/redact.js';
import { PRIVATE_FILE, privateDirSync } from '../util/private-files.js';
import type { RunEvent } from './events.js';

/**
 * The per-operation log, JSON lines under .deploy_state/logs/. Written synchronously and
 * without fsync: a kill -9 loses nothing the kernel already has, and hook output stays cheap.
 */
export class DeployLog {
  readonly path: string;
  constructor(
    dir: string,
    deployId: string,
    private readonly redactor: Redactor,
    private readonly now: () => Date,
  ) {
    try {
      privateDirSync(dir);
    } catch {
      /* a full disk: the writes below fail quietly too */
    }
    this.path = join(dir, `${deployId}.jsonl`);
  }
  write(e: RunEvent | { type: string; [k: string]: unknown }): void {
    try {
      appendFileSync(this.path, `${JSON.stringify(this.redactor.redactValue({ ts: this.now().toISOString(), ...e }))}\n`, { mode: PRIVATE_FILE });
    } catch {
      /* a full disk must not turn a deploy into a failure by itself */
    }
  }
}
