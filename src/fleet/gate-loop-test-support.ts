import type { HistoryEntry } from '../state/records.js';
import { member, runGates, type Member } from './gate-loop.js';
import type { AgentLink, Arrival, Final } from './link.js';
import type { FleetPolicy } from './policy.js';
import type { Gate } from './protocol.js';

/**
 * A scripted stand-in for AgentLink: the test says where the host arrives (`at`, `fail`, `done`),
 * and every go/stop the loop sends is written to the shared log, in order.
 */
export class FakeLink {
  private arrivals: Arrival[] = [];
  private waiting: ((a: Arrival) => void) | null = null;
  final: Final | null = null;
  readonly finished: Promise<Final>;
  private resolveFinished!: (f: Final) => void;

  constructor(
    readonly name: string,
    private readonly log: string[],
  ) {
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  private arrive(a: Arrival): void {
    if (a.kind === 'done' || a.kind === 'failed' || a.kind === 'lost') {
      this.final = a;
      this.resolveFinished(a);
    }
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w(a);
    } else this.arrivals.push(a);
  }

  at(gate: Gate, index = 3): void {
    this.arrive({ kind: 'gate', gate: { type: 'gate', gate, index } });
  }

  fail(message = `${this.name}: health check failed`, name = 'Error'): void {
    this.arrive({ kind: 'failed', error: { name, message, exitCode: 1 } });
  }

  /** how a host told to stop ends */
  stopped(): void {
    this.fail(`${this.name}: stopped because another host failed`, 'FleetStopped');
  }

  /** the connection dropped */
  lose(): void {
    this.arrive({ kind: 'lost', error: { name: 'HostUnreachable', message: `${this.name}: the connection dropped`, exitCode: 1 } });
  }

  done(): void {
    this.arrive({ kind: 'done', entry: {} as HistoryEntry, live: 'r2', warnings: [], log: '/log' });
  }

  next(): Promise<Arrival> {
    if (this.arrivals.length) return Promise.resolve(this.arrivals.shift()!);
    return new Promise((r) => (this.waiting = r));
  }

  go(): void {
    this.log.push(`${this.name} go`);
  }

  stop(reason: string): void {
    this.log.push(`${this.name} stop: ${reason}`);
  }

  end(): Promise<Final> {
    return this.final ? Promise.resolve(this.final) : Promise.reject(new Error('end() is not used by the gate loop'));
  }
}

/** lets every pending promise callback run: the loop reacts to what the hosts said */
export const flush = () => new Promise<void>((r) => setImmediate(r));

export function fleet(policy: FleetPolicy, n = 3, signal?: AbortSignal) {
  const log: string[] = [];
  const links = Array.from({ length: n }, (_, i) => new FakeLink(`h${i + 1}`, log));
  const members: Member[] = links.map((l) => member(l.name, l as unknown as AgentLink));
  let finished = false;
  const loop = runGates(members, policy, {
    say: (message, level = 'info') => log.push(`[${level}] ${message}`),
    ...(signal ? { signal } : {}),
  }).then(() => (finished = true));
  /** the log since the last call */
  let seen = 0;
  const fresh = () => {
    const out = log.slice(seen);
    seen = log.length;
    return out;
  };
  return { links, members, log, fresh, loop, finished: () => finished };
}

/** the log lines that are calls on a link (go, stop), not what was said */
export const calls = (l: string) => !l.startsWith('[');
