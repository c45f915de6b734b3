import type { ChildProcess } from 'node:child_process';
import type { StagedRelease } from '../engine/context.js';
import type { RunEvent } from '../engine/events.js';
import { sshFailure } from '../hosts/ssh.js';
import type { HistoryEntry } from '../state/records.js';
import { lineReader, type AgentError, type FromAgent, type StartMessage, type ToAgent } from './protocol.js';

export type GateArrival = Extract<FromAgent, { type: 'gate' }>;

/** How a host's part of the operation ended. `lost`: the connection or the agent died first. */
export type Final =
  | { kind: 'done'; entry: HistoryEntry; live: string | null; warnings: string[]; log: string }
  | { kind: 'failed'; error: AgentError; entry?: HistoryEntry; live?: string | null; warnings?: string[]; log?: string }
  | { kind: 'lost'; error: AgentError };

export type Arrival = { kind: 'gate'; gate: GateArrival } | { kind: 'planned'; plan: unknown; notes: string[]; router: (string[] | null)[] } | Final;

/** The driving machine's end of one host's agent: messages in, gates answered, the end noticed. */
export class AgentLink {
  final: Final | null = null;
  /** the gate the host waits at, if it does */
  atGate: GateArrival | null = null;
  /** resolves once the host's part has ended, whatever it waits at */
  readonly finished: Promise<Final>;
  private resolveFinished!: (f: Final) => void;
  private arrivals: Arrival[] = [];
  private waiting: ((a: Arrival) => void) | null = null;
  private stderrTail: string[] = [];

  constructor(
    readonly name: string,
    private readonly child: ChildProcess,
    onEvent: (e: RunEvent) => void,
    start: StartMessage,
  ) {
    this.finished = new Promise((r) => (this.resolveFinished = r));
    child.stdin!.on('error', () => undefined);
    child.stdout!.on(
      'data',
      lineReader(
        (m) => this.receive(m as FromAgent, onEvent),
        (text) => onEvent({ type: 'log', level: 'debug', message: text, source: `agent ${name}` }),
      ),
    );
    child.stderr!.on('data', (d: Buffer) => {
      this.stderrTail.push(...d.toString().split('\n').filter(Boolean));
      this.stderrTail.splice(0, Math.max(0, this.stderrTail.length - 20));
    });
    child.on('close', (code) => {
      if (this.final) return;
      const stderr = this.stderrTail.join('\n');
      const ssh = sshFailure(name, { code, stderr });
      const message = ssh ? ssh.message : `${name}: the agent stopped (${code === null ? 'killed' : `exit ${code}`}) before it reported an outcome${stderr ? `: ${this.stderrTail.at(-1)}` : ''}`;
      this.arrive({ kind: 'lost', error: { name: 'HostUnreachable', message, exitCode: 1, ...(ssh?.hint ? { hint: ssh.hint } : {}) } });
    });
    child.on('error', () => undefined);
    this.send(start);
  }

  private receive(m: FromAgent, onEvent: (e: RunEvent) => void): void {
    if (m.type === 'event') onEvent(m.event);
    else if (m.type === 'gate') {
      this.atGate = m;
      this.arrive({ kind: 'gate', gate: m });
    } else if (m.type === 'planned') this.arrive({ kind: 'planned', plan: m.plan, notes: m.notes, router: m.router ?? [] });
    else if (m.type === 'done') this.arrive({ kind: 'done', entry: m.entry, live: m.live, warnings: m.warnings, log: m.log });
    else if (m.type === 'failed') this.arrive({ kind: 'failed', error: m.error, ...(m.entry ? { entry: m.entry } : {}), ...(m.live !== undefined ? { live: m.live } : {}), ...(m.warnings ? { warnings: m.warnings } : {}), ...(m.log ? { log: m.log } : {}) });
  }

  private arrive(a: Arrival): void {
    if (a.kind === 'done' || a.kind === 'failed' || a.kind === 'lost') {
      if (this.final) return;
      this.final = a;
      this.atGate = null;
      this.child.stdin!.end();
      this.resolveFinished(a);
    }
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(a);
    } else this.arrivals.push(a);
  }

  /** The next gate the host reaches, or how it ended. */
  next(): Promise<Arrival> {
    if (this.arrivals.length) return Promise.resolve(this.arrivals.shift()!);
    if (this.final) return Promise.resolve(this.final);
    return new Promise((r) => (this.waiting = r));
  }

  private send(m: ToAgent): void {
    if (this.final || !this.child.stdin!.writable) return;
    this.child.stdin!.write(`${JSON.stringify(m)}\n`);
  }

  go(upload?: StagedRelease): void {
    this.atGate = null;
    this.send({ type: 'go', ...(upload ? { upload } : {}) });
  }

  /** At a gate: stop there and undo. Running: stop after the current step and undo. */
  stop(reason: string): void {
    if (this.final) return;
    this.send(this.atGate ? { type: 'stop', reason } : { type: 'interrupt', reason });
    this.atGate = null;
  }

  /** Waits for the end, killing the connection if the host has not answered within `ms`. */
  async end(ms: number): Promise<Final> {
    if (this.final) return this.final;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    try {
      for (;;) {
        const a = await this.next();
        if (a.kind === 'done' || a.kind === 'failed' || a.kind === 'lost') return a;
      }
    } finally {
      clearTimeout(timer);
    }
  }
}
