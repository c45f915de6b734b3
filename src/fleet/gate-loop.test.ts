import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../state/records.js';
import { member, runGates, type Member } from './gate-loop.js';
import type { AgentLink, Arrival, Final } from './link.js';
import type { FleetPolicy } from './policy.js';
import type { Gate } from './protocol.js';

/**
 * A scripted stand-in for AgentLink: the test says where the host arrives (`at`, `fail`, `done`),
 * and every go/stop the loop sends is written to the shared log, in order.
 */
class FakeLink {
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
const flush = () => new Promise<void>((r) => setImmediate(r));

function fleet(policy: FleetPolicy, n = 3, signal?: AbortSignal) {
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
const calls = (l: string) => !l.startsWith('[');

const TOGETHER: FleetPolicy = { kind: 'together' };

describe('runGates, together', () => {
  it('every host switches once all are at the switch; commits once the last reaches the commit', async () => {
    const f = fleet(TOGETHER);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    h1.at('switch');
    h2.at('switch');
    await flush();
    expect(f.fresh()).toEqual([]);
    h3.at('switch');
    await flush();
    expect(f.fresh()).toEqual(['[info] all hosts ready: switching 3 hosts', 'h1 go', 'h2 go', 'h3 go']);
    h2.at('commit');
    h1.at('commit');
    await flush();
    expect(f.fresh()).toEqual([]);
    h3.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] all 3 hosts switched and checked: committing', 'h1 go', 'h2 go', 'h3 go']);
    h1.done();
    h3.done();
    await flush();
    expect(f.finished()).toBe(false);
    h2.done();
    await f.loop;
    expect(f.fresh()).toEqual([]);
    expect(f.members.map((m) => m.final?.kind)).toEqual(['done', 'done', 'done']);
  });

  it('a host lost while it waits at the commit stops the fleet: the others are never told to commit', async () => {
    const f = fleet(TOGETHER);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of [h1, h2, h3]) h.at('switch');
    await flush();
    f.fresh();
    h1.at('commit');
    h2.at('commit');
    await flush();
    // h2's connection drops while it waits; h3 is still checking
    h2.lose();
    await flush();
    h3.at('commit');
    await flush();
    const after = f.fresh().filter(calls);
    expect(after).not.toContain('h1 go');
    expect(after).not.toContain('h3 go');
    expect(after).toEqual(expect.arrayContaining([expect.stringMatching(/^h1 stop: h2: the connection dropped/), expect.stringMatching(/^h3 stop/)]));
  });

  it('canary stages: each stage passes once every host is at it', async () => {
    const f = fleet(TOGETHER, 2);
    const [h1, h2] = f.links as [FakeLink, FakeLink];
    h1.at('switch');
    h2.at('switch');
    await flush();
    expect(f.fresh()).toEqual(['[info] all hosts ready: switching 2 hosts', 'h1 go', 'h2 go']);
    h1.at('stage', 5);
    await flush();
    expect(f.fresh()).toEqual([]);
    h2.at('stage', 5);
    await flush();
    expect(f.fresh()).toEqual(['h1 go', 'h2 go']);
    h1.at('commit');
    h2.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] all 2 hosts switched and checked: committing', 'h1 go', 'h2 go']);
    h1.done();
    h2.done();
    await f.loop;
  });

  it('one host fails after the switch: the two waiting at the commit are stopped, nobody commits', async () => {
    const f = fleet(TOGETHER);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    expect(f.fresh()).toEqual(['[info] all hosts ready: switching 3 hosts', 'h1 go', 'h2 go', 'h3 go']);
    h1.at('commit');
    h2.at('commit');
    await flush();
    h3.fail();
    await flush();
    const reason = 'h3: health check failed; stopping every other host';
    expect(f.fresh()).toEqual([`[warn] ${reason}`, `h1 stop: ${reason}`, `h2 stop: ${reason}`]);
    h1.stopped();
    await flush();
    expect(f.finished()).toBe(false);
    h2.stopped();
    await f.loop;
    expect(f.fresh()).toEqual([]);
    expect(f.log.filter((l) => l.endsWith(' go'))).toHaveLength(3);
  });

  it('a failure before the switch stops the others, at their gate or while they move; nobody switches', async () => {
    const f = fleet(TOGETHER);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    h1.at('switch');
    await flush();
    h2.fail('could not start the new release');
    await flush();
    const reason = 'h2: could not start the new release; stopping every other host';
    expect(f.fresh()).toEqual([`[warn] ${reason}`, `h1 stop: ${reason}`, `h3 stop: ${reason}`]);
    h3.stopped();
    h1.stopped();
    await f.loop;
    expect(f.fresh()).toEqual([]);
  });

  it('a host that still reaches a gate after the fleet stopped is told to stop there', async () => {
    const f = fleet(TOGETHER);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    f.fresh();
    h3.fail();
    await flush();
    expect(f.fresh()).toEqual([
      '[warn] h3: health check failed; stopping every other host',
      'h1 stop: h3: health check failed; stopping every other host',
      'h2 stop: h3: health check failed; stopping every other host',
    ]);
    // h1's gate message crossed the stop on the wire
    h1.at('commit');
    h2.stopped();
    await flush();
    expect(f.fresh()).toEqual(['h1 stop: the fleet stopped']);
    h1.stopped();
    await f.loop;
    expect(f.fresh()).toEqual([]);
  });

  it('an abort mid-way stops every host, and nobody is told to go after it', async () => {
    const ac = new AbortController();
    const f = fleet(TOGETHER, 3, ac.signal);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    f.fresh();
    h1.at('commit');
    await flush();
    ac.abort('SIGINT');
    const reason = 'interrupted (SIGINT): stopping every host and undoing';
    expect(f.fresh()).toEqual([`[warn] ${reason}`, `h1 stop: ${reason}`, `h2 stop: ${reason}`, `h3 stop: ${reason}`]);
    h1.stopped();
    h2.fail('h2: interrupted');
    h3.fail('h3: interrupted');
    await f.loop;
    // the failures that follow the abort do not stop anyone a second time
    expect(f.fresh()).toEqual([]);
  });

  it('an abort after the loop ended does nothing (the listener is removed)', async () => {
    const ac = new AbortController();
    const f = fleet(TOGETHER, 1, ac.signal);
    const [h1] = f.links as [FakeLink];
    h1.at('switch');
    await flush();
    h1.at('commit');
    await flush();
    h1.done();
    await f.loop;
    f.fresh();
    ac.abort('late');
    expect(f.fresh()).toEqual([]);
  });

  // gate messages that crossed the interrupt on the wire: a stopped fleet never tells a host to commit
  it('after an abort, hosts that still reach the commit are stopped there, not told to commit', async () => {
    const ac = new AbortController();
    const f = fleet(TOGETHER, 2, ac.signal);
    const [h1, h2] = f.links as [FakeLink, FakeLink];
    h1.at('switch');
    h2.at('switch');
    await flush();
    f.fresh();
    ac.abort('SIGINT');
    f.fresh();
    h1.at('commit');
    h2.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['h1 stop: the fleet stopped', 'h2 stop: the fleet stopped']);
    h1.stopped();
    h2.stopped();
    await f.loop;
  });
});

describe('runGates, waves', () => {
  const ONE_BY_ONE: FleetPolicy = { kind: 'waves', wave: 1, maxFailures: 1 };

  it('wave 1: hosts switch one at a time, each after the previous reached its commit; all commit at the end', async () => {
    const f = fleet(ONE_BY_ONE);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    h1.at('switch');
    h2.at('switch');
    await flush();
    expect(f.fresh()).toEqual([]);
    h3.at('switch');
    await flush();
    expect(f.fresh()).toEqual(['[info] h1: updating (1 of 3)', 'h1 go']);
    h1.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] h2: updating (2 of 3)', 'h2 go']);
    h2.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] h3: updating (3 of 3)', 'h3 go']);
    h3.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] 3 hosts updated and checked: committing', 'h1 go', 'h2 go', 'h3 go']);
    for (const h of f.links) h.done();
    await f.loop;
    expect(f.fresh()).toEqual([]);
  });

  it('wave 2 of 3: two switch at once; the third once both reached their commit (waves, not a sliding window)', async () => {
    const f = fleet({ kind: 'waves', wave: 2, maxFailures: 1 });
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    expect(f.fresh()).toEqual(['[info] h1: updating (1 of 3)', 'h1 go', '[info] h2: updating (2 of 3)', 'h2 go']);
    h2.at('commit');
    await flush();
    expect(f.fresh()).toEqual([]);
    h1.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] h3: updating (3 of 3)', 'h3 go']);
    h3.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] 3 hosts updated and checked: committing', 'h1 go', 'h2 go', 'h3 go']);
    for (const h of f.links) h.done();
    await f.loop;
  });

  it('the second host fails: the held first is stopped (rolled back), the third never switches', async () => {
    const f = fleet(ONE_BY_ONE);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    h1.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] h1: updating (1 of 3)', 'h1 go', '[info] h2: updating (2 of 3)', 'h2 go']);
    h2.fail();
    await flush();
    const reason = 'max_failures reached (1 host failed): rolling back every updated host';
    expect(f.fresh()).toEqual(['[warn] h2: health check failed (1 of max_failures 1)', `[warn] ${reason}`, `h1 stop: ${reason}`, `h3 stop: ${reason}`]);
    h3.stopped();
    h1.stopped();
    await f.loop;
    // nobody is told anything more (and nothing more is counted: see below)
    expect(f.fresh().filter(calls)).toEqual([]);
    expect(f.log.filter((l) => l.endsWith(' go'))).toEqual(['h1 go', 'h2 go']);
  });

  // once max_failures stopped the fleet, the hosts it stopped are not more failures
  it('after max_failures stopped the fleet, the hosts it stopped are not counted as more failures', async () => {
    const f = fleet(ONE_BY_ONE);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    h1.at('commit');
    await flush();
    h2.fail();
    await flush();
    f.fresh();
    h3.stopped();
    h1.stopped();
    await f.loop;
    expect(f.fresh()).toEqual([]);
  });

  it('under max_failures a failed host is left behind and the others go on and commit', async () => {
    const f = fleet({ kind: 'waves', wave: 1, maxFailures: 2 });
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    h1.at('commit');
    await flush();
    f.fresh();
    h2.fail();
    await flush();
    expect(f.fresh()).toEqual(['[warn] h2: health check failed (1 of max_failures 2)', '[info] h3: updating (2 of 3)', 'h3 go']);
    h3.at('commit');
    await flush();
    expect(f.fresh()).toEqual(['[info] 2 hosts updated and checked: committing', 'h1 go', 'h3 go']);
    h1.done();
    h3.done();
    await f.loop;
    expect(f.members.map((m) => m.final?.kind)).toEqual(['done', 'failed', 'done']);
  });

  it('an abort mid-way stops every host', async () => {
    const ac = new AbortController();
    const f = fleet(ONE_BY_ONE, 3, ac.signal);
    const [h1, h2, h3] = f.links as [FakeLink, FakeLink, FakeLink];
    for (const h of f.links) h.at('switch');
    await flush();
    h1.at('commit');
    await flush();
    f.fresh();
    ac.abort('SIGTERM');
    const reason = 'interrupted (SIGTERM): stopping every host and undoing';
    expect(f.fresh()).toEqual([`[warn] ${reason}`, `h1 stop: ${reason}`, `h2 stop: ${reason}`, `h3 stop: ${reason}`]);
    h2.fail('h2: interrupted');
    await flush();
    expect(f.fresh().filter(calls)).toEqual([]);
    h1.stopped();
    h3.stopped();
    await f.loop;
    expect(f.fresh().filter(calls)).toEqual([]);
    expect(f.log.filter((l) => l.endsWith(' go'))).toEqual(['h1 go', 'h2 go']);
  });
});
