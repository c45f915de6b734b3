import { StringDecoder } from 'node:string_decoder';
import type { RunEvent } from '../engine/events.js';
import type { StagedRelease } from '../engine/context.js';
import type { Manifest } from '../manifest/schema/index.js';
import type { HistoryEntry } from '../state/records.js';
import type { HostManifest } from './host-manifest.js';

/**
 * The conversation between the machine driving a fleet deploy and the agent it starts on each
 * host (`ssh host node <agent>/agent.js`): one JSON object a line, each way. The agent runs
 * the ordinary one-host operation on its host and stops at the fleet's gates until told to go
 * on, so every host switches or none does.
 */

/** What to run on the host. */
export type AgentOp =
  | { command: 'deploy'; strategy: Manifest['deployment']['strategy']; release: string; versionOverride?: string }
  | { command: 'rollback'; to?: string; forward?: boolean };

export interface StartMessage extends HostManifest {
  type: 'start';
  op: AgentOp;
  deployId: string;
  /** the host as output names it */
  hostName: string;
  /** runs the hooks marked run_once */
  primary: boolean;
  /** plan only: reply with the plan, change nothing */
  dryRun?: boolean;
}

export type ToAgent =
  | StartMessage
  /** go past the gate; after `ready`, `upload` says the release tree is in place */
  | { type: 'go'; upload?: StagedRelease }
  /** stop at this gate and undo what ran */
  | { type: 'stop'; reason: string }
  /** stop after the current step and undo (Ctrl-C on the driving machine) */
  | { type: 'interrupt'; reason: string };

export type Gate = 'locked' | 'ready' | 'switch' | 'stage' | 'commit';

export interface PlanSummary {
  release: string;
  previous: string | null;
  strategy: string;
  steps: string[];
}

export interface AgentError {
  name: string;
  message: string;
  hint?: string;
  exitCode: number;
}

export type FromAgent =
  | { type: 'event'; event: RunEvent }
  /** waiting at a gate; `ready` carries the plan and where the release tree is to be uploaded */
  | { type: 'gate'; gate: Gate; index: number; plan?: PlanSummary; appRoot?: string; incoming?: string; hasRsync?: boolean }
  | { type: 'planned'; plan: unknown; notes: string[]; router?: (string[] | null)[] }
  | { type: 'done'; entry: HistoryEntry; live: string | null; warnings: string[]; log: string }
  | { type: 'failed'; error: AgentError; entry?: HistoryEntry; live?: string | null; warnings?: string[]; log?: string };

/** Splits a stream into lines and hands each parsed JSON object on; a line that is not JSON is passed as text. */
export function lineReader(onMessage: (m: unknown) => void, onText: (line: string) => void = () => undefined): (chunk: Buffer | string) => void {
  let buf = '';
  // a character split across two reads is put back together
  const decoder = new StringDecoder('utf8');
  return (chunk) => {
    buf += typeof chunk === 'string' ? chunk : decoder.write(chunk);
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.trim()) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        onText(line);
        continue;
      }
      onMessage(parsed);
    }
  };
}
