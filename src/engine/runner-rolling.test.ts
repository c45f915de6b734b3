// A rolling deploy as single-action steps: the runner runs each instance's steps (drain, stop,
// start, enable) with the real handlers against a fake router and instance manager, tolerates
// failed instances up to maxFailures, and a journal left by a crash is recovered step by step.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../state/journal.js';
import type { RunContext } from './context.js';
import { defaultHandlers } from './handlers/index.js';
import { describeJournal, recoverJournal } from './recovery.js';
import { FakeFleet, rollingPlanSteps } from './rolling-test-support.js';
import { Runner } from './runner.js';
import { context, journal, layout, NEW, OLD, plan, useRunnerSandbox } from './test-support.js';

useRunnerSandbox();

const withFleet = (fleet: FakeFleet): RunContext => ({ ...context(), strategy: 'rolling', router: fleet.router, instances: fleet.manager });
const rolling = (maxFailures: number) => plan(rollingPlanSteps(3, OLD, NEW), { strategy: 'rolling', tolerate: { maxFailures } });
const byGroup = (j: Journal) => j.plan.steps.map((p, i) => `${p.group} ${p.step.kind}: ${j.steps[i]!.status}`);

describe('Runner: a rolling deploy where instance 2 of 3 fails (max_failures 2)', () => {
  it('puts that instance back on its old release, journals the failure, and moves the others', async () => {
    const fleet = new FakeFleet(3, OLD);
    fleet.unhealthy.add(`stable-1@${NEW}`);
    const outcome = await new Runner(withFleet(fleet), { handlers: defaultHandlers }).run(rolling(2));
    expect(outcome).toMatchObject({ result: 'succeeded', rolledBack: false });
    const j = journal();
    expect(j.state).toBe('committed');
    expect(byGroup(j)).toEqual([
      'stable-0 drain_target: done',
      'stable-0 stop_instance: done',
      'stable-0 start_instance: done',
      'stable-0 enable_target: done',
      // the failed start is undone too (its instance stopped), then the stop (the old release
      // back), then the drain (back in rotation); its enable never ran
      'stable-1 drain_target: undone',
      'stable-1 stop_instance: undone',
      'stable-1 start_instance: undone',
      'stable-1 enable_target: pending',
      'stable-2 drain_target: done',
      'stable-2 stop_instance: done',
      'stable-2 start_instance: done',
      'stable-2 enable_target: done',
    ]);
    expect(j.failures).toEqual([{ group: 'stable-1', step: 6, error: 'stable-1 did not get healthy', undone: true }]);
    expect(j.steps[6]!.error).toBe('stable-1 did not get healthy');
    expect(fleet.state()).toEqual({ 'stable-0': NEW, 'stable-1': OLD, 'stable-2': NEW });
    expect(fleet.log.slice(4, 11)).toEqual(['drain stable-1', 'stop stable-1', `start stable-1 ${NEW}`, 'stop stable-1', `start stable-1 ${OLD}`, 'enable stable-1', 'drain stable-2']);
    expect(describeJournal(j)).toMatch(/stopped at step 12\/12 \(put stable-2 \(stable\) back in rotation: done\), after it had succeeded; 1 instance\(s\) had failed and been put back \(stable-1\)$/);
  });

  it('stops at max_failures: every updated instance goes back to the old release', async () => {
    const fleet = new FakeFleet(3, OLD);
    fleet.unhealthy.add(`stable-1@${NEW}`);
    const outcome = await new Runner(withFleet(fleet), { handlers: defaultHandlers }).run(rolling(1));
    expect(outcome).toMatchObject({ result: 'rolled_back', failedStep: 6, error: '1 instance(s) failed (max_failures 1): stable-1: stable-1 did not get healthy' });
    const j = journal();
    expect(j.failures).toHaveLength(1);
    expect(byGroup(j).slice(0, 4)).toEqual(['stable-0 drain_target: undone', 'stable-0 stop_instance: undone', 'stable-0 start_instance: undone', 'stable-0 enable_target: undone']);
    // stable-2 was never touched
    expect(byGroup(j).slice(8)).toEqual(['stable-2 drain_target: pending', 'stable-2 stop_instance: pending', 'stable-2 start_instance: pending', 'stable-2 enable_target: pending']);
    expect(fleet.state()).toEqual({ 'stable-0': OLD, 'stable-1': OLD, 'stable-2': OLD });
  });

  it('runs the instances of one batch side by side, one action a step', async () => {
    const fleet = new FakeFleet(2, OLD);
    const steps = rollingPlanSteps(2, OLD, NEW).map((p) => ({ ...p, batch: 1 }));
    const outcome = await new Runner(withFleet(fleet), { handlers: defaultHandlers }).run(plan(steps, { strategy: 'rolling', tolerate: { maxFailures: 1 } }));
    expect(outcome.result).toBe('succeeded');
    // both drained before either is stopped: the groups interleave
    expect(fleet.log.slice(0, 2)).toEqual(['drain stable-0', 'drain stable-1']);
    expect(fleet.state()).toEqual({ 'stable-0': NEW, 'stable-1': NEW });
    expect(journal().steps.every((s) => s.status === 'done')).toBe(true);
  });
});

describe('recovery of a rolling deploy killed between the drain and the stop', () => {
  it.each(['pending', 'running'] as const)('the stop %s: undoing the drain puts the instance back in rotation on its release', async (stopStatus) => {
    const fleet = new FakeFleet(3, OLD);
    // kill -9 as the stop is asked: the journal on disk is all there is; the process is gone
    let onDisk: Journal | undefined;
    let crashed!: () => void;
    const crash = new Promise<void>((r) => (crashed = r));
    fleet.onStop = () => {
      onDisk = JSON.parse(readFileSync(layout.journal, 'utf8')) as Journal;
      crashed();
      return new Promise<void>(() => {});
    };
    void new Runner(withFleet(fleet), { handlers: defaultHandlers }).run(rolling(1));
    await crash;
    const j = onDisk!;
    // step:1:before is the same journal with the stop not yet marked running
    if (stopStatus === 'pending') Object.assign(j.steps[1]!, { status: 'pending', started: undefined });
    expect(j.steps.slice(0, 2).map((s) => s.status)).toEqual(['done', stopStatus]);
    expect(describeJournal(j)).toContain(stopStatus === 'pending' ? 'stopped at step 1/12 (drain stable-0 (stable) out of rotation: done)' : 'stopped at step 2/12');
    expect(fleet.state()['stable-0']).toBe(`${OLD} (out)`);

    const after = new FakeFleet(0, OLD);
    after.instances.set('stable-0', { ...fleet.instances.get('stable-0')! });
    const r = await recoverJournal(withFleet(after), j, 'doctor --repair');
    expect(r.action).toBe('undone');
    expect(r.steps.slice(0, 2)).toEqual(['drain stable-0 (stable) out of rotation: undone', `stop stable-0:4000 (${OLD}): ${stopStatus === 'pending' ? 'pending' : 'undone'}`]);
    // the stop had not happened: its undo finds the instance on its release and leaves it; the drain's undo enables it
    expect(after.log).toEqual(['enable stable-0']);
    expect(after.state()).toEqual({ 'stable-0': OLD });
  });
});
