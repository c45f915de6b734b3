import { describe, expect, it } from 'vitest';
import type { FleetPolicy } from './policy.js';
import { calls, fleet, flush, type FakeLink } from './gate-loop-test-support.js';

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
