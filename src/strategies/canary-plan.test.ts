import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest/load.js';
import { describeStep } from '../plan/steps.js';
import { canaryStages, planCanary } from './canary.js';
import type { Observed, ObservedPool } from './observe.js';
import { planRollback } from './rollback.js';
import { info, kinds, pool, stepOf } from './test-support.js';

const manifest = (canary: string, extra = '') => `name: shop
source: { type: local, path: ./app }
deployment:
  strategy: canary
  canary:
${canary}
service: { manager: process, command: node server.js, instances: 3, base_port: 4000 }
router: { type: embedded, listen: 8080 }
health_checks:
  - { url: "http://127.0.0.1:{port}/health" }
${extra}`;
const load = (canary: string, extra = '') => parseManifest(manifest(canary, extra), { env: {} });

const R1 = '20240101_000001';
const NEW = '20240102_000000';
const live = (pools: ObservedPool[] = [pool('blue', 100, R1, 4000)]): Observed => ({ current: R1, rollbackPoint: null, preRollback: null, releases: [info(R1)], pools });

describe('canary stages', () => {
  it('walks the seed form from initial_percent by step_percent while below final_percent', () => {
    const st = canaryStages(load('    initial_percent: 10\n    step_percent: 30\n    step_interval: 5s'));
    expect(st).toEqual([
      { weight: 10, durationMs: 5000, pause: null },
      { weight: 40, durationMs: 5000, pause: null },
      { weight: 70, durationMs: 5000, pause: null },
    ]);
  });

  it('uses the seed defaults (5% + 10% every 60 s) without stages or seed keys', () => {
    const st = canaryStages(load('    auto_promote: true'));
    expect(st.map((s) => s.weight)).toEqual([5, 15, 25, 35, 45, 55, 65, 75, 85, 95]);
    expect(st.every((s) => s.durationMs === 60_000)).toBe(true);
  });

  it('keeps the stage list as written; a pause holds the weight before it; auto_promote off adds a manual pause', () => {
    const st = canaryStages(load('    auto_promote: false\n    stages:\n      - {pause: manual}\n      - {weight: 5, duration: 1m}\n      - {pause: 30s}\n      - {weight: 50}\n'));
    expect(st).toEqual([
      { weight: 0, durationMs: 0, pause: 'manual' },
      { weight: 5, durationMs: 60_000, pause: null },
      { weight: 5, durationMs: 30_000, pause: 'timed' },
      { weight: 50, durationMs: 0, pause: null },
      { weight: 50, durationMs: 0, pause: 'manual', reason: 'auto_promote is off' },
    ]);
  });
});

describe('canary plan', () => {
  it('with nothing live there is nothing to compare: a first deploy goes in as blue-green', () => {
    const plan = planCanary(load('    stages: [{weight: 10}]'), { current: null, rollbackPoint: null, preRollback: null, releases: [], pools: null }, { deployId: 'd1', release: NEW });
    expect(plan.strategy).toBe('canary');
    expect(kinds(plan)).not.toContain('canary_analysis');
    expect(kinds(plan)).not.toContain('set_weights');
    expect(stepOf(plan, 'switch_traffic')[0]).toMatchObject({ to: 'blue', from: null });
  });

  it('refuses a canary with nothing serving the live release on the runtime: no baseline to judge against', () => {
    expect(() => planCanary(load('    stages: [{weight: 10}]'), live([]), { deployId: 'd1', release: NEW })).toThrow(/nothing serves 20240101_000001 on the runtime, so a canary has no baseline/);
  });

  it('starts the canary in the idle slot, walks the stages, promotes by switching, keeps the old slot warm', () => {
    const plan = planCanary(load('    stages: [{weight: 10, duration: 20s}, {pause: manual}, {weight: 50, duration: 20s}]\n    scale_down_delay: 40s\n    header_route: {header: X-Canary, value: always}'), live(), { deployId: 'd2', release: NEW });
    expect(kinds(plan)).toEqual([
      'prepare_release', 'hook:pre_deploy', 'hook:check_dependencies', 'hook:pre_build', 'hook:build', 'hook:pre_activate',
      'start_instances', 'health_check', 'set_routes', 'set_weights', 'canary_analysis', 'set_weights', 'canary_analysis', 'set_weights', 'canary_analysis',
      'switch_traffic', 'health_check', 'set_routes',
      'hook:post_deploy', 'hook:post_activate', 'hook:notify', 'stop_instances', 'cleanup',
    ]);
    expect(stepOf(plan, 'start_instances')[0]!.instances).toEqual([{ id: 'green-0', port: 4100 }, { id: 'green-1', port: 4101 }, { id: 'green-2', port: 4102 }]);
    const stages = stepOf(plan, 'canary_analysis');
    expect(stages.map((s) => [s.stage, s.stages, s.weight, s.pause, s.pool, s.baseline])).toEqual([
      [1, 3, 10, null, 'green', { pool: 'blue', release: R1 }],
      [2, 3, 10, 'manual', 'green', { pool: 'blue', release: R1 }],
      [3, 3, 50, null, 'green', { pool: 'blue', release: R1 }],
    ]);
    const none = { green: 0, blue: 100 };
    expect(stepOf(plan, 'set_weights')).toEqual([
      { kind: 'set_weights', weights: { green: 10, blue: 90 }, previous: none, stage: 1 },
      { kind: 'set_weights', weights: { green: 10, blue: 90 }, previous: none, stage: 2 },
      { kind: 'set_weights', weights: { green: 50, blue: 50 }, previous: none, stage: 3 },
    ]);
    // the weights are a trial, undone on any failure; the analysis changes nothing itself
    expect(plan.steps.filter((s) => s.step.kind === 'set_weights').every((s) => s.live && s.trial && s.onError === 'abort')).toBe(true);
    expect(plan.steps.filter((s) => s.step.kind === 'canary_analysis').every((s) => !s.live && s.onError === 'abort')).toBe(true);
    expect(plan.steps.find((s) => s.step.kind === 'switch_traffic')).toMatchObject({ live: true });
    expect(plan.steps.find((s) => s.step.kind === 'switch_traffic')!.trial).toBeUndefined();
    expect(stepOf(plan, 'set_routes')).toEqual([
      { kind: 'set_routes', routes: [{ header: 'x-canary', value: 'always', pool: 'green' }] },
      { kind: 'set_routes', routes: [] },
    ]);
    expect(stepOf(plan, 'switch_traffic')[0]).toMatchObject({ to: 'green', from: 'blue', release: NEW, previous: R1, pointers: { rollback_point: R1 } });
    expect(stepOf(plan, 'stop_instances')[0]).toEqual({ kind: 'stop_instances', pool: 'blue', release: R1, instances: ['blue-0', 'blue-1', 'blue-2'], delayMs: 40_000 });
    expect(describeStep(stages[0]!)).toBe(`canary 1/3: 10% of traffic to green (${NEW}), 90% to blue for 20s`);
    expect(describeStep(stages[1]!)).toBe('canary 2/3: pause at 10% until `deployer promote`');
    expect(describeStep(stepOf(plan, 'set_weights')[2]!)).toBe('weights green 50%, blue 50% (canary stage 3)');
    // a failed canary is checked against the pool that kept serving
    expect(plan.rollback.verify[0]!.step).toMatchObject({ kind: 'health_check', pool: 'blue', ports: [4000, 4001, 4002] });
  });

  it('fewer canary instances are scaled up before the first stage at 100%', () => {
    const plan = planCanary(load('    instances: 1\n    stages: [{weight: 20, duration: 5s}, {weight: 100, duration: 5s}]'), live(), { deployId: 'd3', release: NEW });
    const k = kinds(plan);
    const i = k.indexOf('set_weights');
    expect(k.slice(i - 2, i + 7)).toEqual(['start_instances', 'health_check', 'set_weights', 'canary_analysis', 'start_instances', 'health_check', 'set_weights', 'canary_analysis', 'switch_traffic']);
    expect(stepOf(plan, 'start_instances').map((s) => s.instances.map((x) => x.id))).toEqual([['green-0'], ['green-1', 'green-2']]);
  });

  it('stops a slot left warm by the last deploy before the canary takes it', () => {
    const plan = planCanary(load('    stages: [{weight: 10}]'), live([pool('green', 100, R1, 4100), pool('blue', 0, '20231231_000000', 4000)]), { deployId: 'd4', release: NEW });
    expect(kinds(plan).slice(6, 9)).toEqual(['stop_instances', 'start_instances', 'health_check']);
    expect(stepOf(plan, 'start_instances')[0]!.pool).toBe('blue');
  });

  it('a rollback after a canary moves traffic back to the warm slot, or starts the idle one', () => {
    const o: Observed = { current: NEW, rollbackPoint: R1, preRollback: null, releases: [info(R1), info(NEW)], pools: [pool('green', 100, NEW, 4100), pool('blue', 0, R1, 4000)] };
    const warm = planRollback(load('    stages: [{weight: 10}]\n    scale_down_delay: 50s'), o, { deployId: 'r1' });
    expect(stepOf(warm, 'stop_instances')[0]!.delayMs).toBe(50_000);
    expect(kinds(warm)).toEqual(['hook:pre_rollback', 'switch_traffic', 'health_check', 'stop_instances', 'hook:post_rollback', 'hook:on_rollback']);
    const cold = planRollback(load('    stages: [{weight: 10}]'), { ...o, pools: [pool('green', 100, NEW, 4100)] }, { deployId: 'r2' });
    expect(stepOf(cold, 'start_instances')[0]).toMatchObject({ pool: 'blue', release: R1 });
  });
});
