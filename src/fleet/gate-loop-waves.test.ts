import { describe, expect, it } from 'vitest';
import type { FleetPolicy } from './policy.js';
import { calls, fleet, flush, type FakeLink } from './gate-loop-test-support.js';

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
