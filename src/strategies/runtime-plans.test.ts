import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest/load.js';
import { idleSlot, planBlueGreen } from './blue-green.js';
import type { Observed } from './observe.js';
import { planRollback } from './rollback.js';
import { info, kinds, pool, stepOf } from './test-support.js';
import { planRolling, resolveCount } from './rolling.js';

const manifest = (strategy: string, extra = '') => `name: shop
source: { type: local, path: ./app }
deployment:
  strategy: ${strategy}
  blue_green: { smoke_tests: ["http://127.0.0.1:{port}/smoke"], warmup_requests: 5, scale_down_delay: 45s }
  rolling: { batch_size: 2, batch_delay: 3s, max_unavailable: 1, max_failures: 2 }
service: { manager: process, command: node server.js, instances: 3, base_port: 4000 }
router: { type: embedded, listen: 8080 }
health_checks:
  - { url: "http://127.0.0.1:{port}/health" }
${extra}`;
const load = (strategy: string, extra = '') => parseManifest(manifest(strategy, extra), { env: {} });

const R1 = '20240101_000001';
const R2 = '20240101_000002';
const NEW = '20240102_000000';
const observed = (o: Partial<Observed> = {}): Observed => ({ current: null, rollbackPoint: null, preRollback: null, releases: [], pools: null, ...o });

describe('blue-green plan', () => {
  it('picks the slot that does not serve', () => {
    expect([idleSlot(null), idleSlot('blue'), idleSlot('green'), idleSlot('stable')]).toEqual(['blue', 'green', 'blue', 'green']);
  });

  it('first deploy: starts blue, checks, smoke-tests, warms up, switches; nothing to scale down', () => {
    const plan = planBlueGreen(load('blue-green'), observed(), { deployId: 'd1', release: NEW });
    expect(kinds(plan)).toEqual([
      'prepare_release', 'hook:pre_deploy', 'hook:check_dependencies', 'hook:pre_build', 'hook:build', 'hook:pre_activate',
      'start_instances', 'health_check', 'smoke_test', 'warmup', 'switch_traffic', 'health_check',
      'hook:post_deploy', 'hook:post_activate', 'hook:notify', 'cleanup',
    ]);
    expect(stepOf(plan, 'start_instances')[0]).toEqual({ kind: 'start_instances', pool: 'blue', release: NEW, instances: [{ id: 'blue-0', port: 4000 }, { id: 'blue-1', port: 4001 }, { id: 'blue-2', port: 4002 }] });
    expect(stepOf(plan, 'smoke_test')[0]).toMatchObject({ pool: 'blue', ports: [4000, 4001, 4002] });
    expect(stepOf(plan, 'warmup')[0]).toEqual({ kind: 'warmup', pool: 'blue', ports: [4000, 4001, 4002], requests: 5, path: '/' });
    expect(stepOf(plan, 'switch_traffic')[0]).toMatchObject({ to: 'blue', from: null, previous: null });
    expect(plan.steps.find((s) => s.step.kind === 'switch_traffic')).toMatchObject({ onError: 'abort', live: true });
  });

  it('next deploy: green on its own ports, blue stopped after scale_down_delay (a warning if that fails)', () => {
    const o = observed({ current: R2, rollbackPoint: R1, releases: [info(R1), info(R2)], pools: [pool('blue', 100, R2, 4000)] });
    const plan = planBlueGreen(load('blue-green'), o, { deployId: 'd2', release: NEW });
    expect(stepOf(plan, 'start_instances')[0]!.instances.map((i) => i.port)).toEqual([4100, 4101, 4102]);
    expect(stepOf(plan, 'switch_traffic')[0]).toMatchObject({ to: 'green', from: 'blue', previous: R2, pointers: { rollback_point: R2, pre_rollback_release: null } });
    const stop = plan.steps.find((s) => s.step.kind === 'stop_instances')!;
    expect(stop).toEqual({ step: { kind: 'stop_instances', pool: 'blue', release: R2, instances: ['blue-0', 'blue-1', 'blue-2'], delayMs: 45_000 }, onError: 'warn' });
    expect(plan.rollback.verify[0]!.step).toMatchObject({ kind: 'health_check', release: R2, ports: [4000, 4001, 4002] });
  });

  it('stops what is left in the idle slot before starting there', () => {
    const o = observed({ current: R2, pools: [pool('blue', 100, R2, 4000), pool('green', 0, R1, 4100, 2)] });
    const plan = planBlueGreen(load('blue-green'), o, { deployId: 'd3', release: NEW });
    const i = kinds(plan).indexOf('stop_instances');
    expect(kinds(plan)[i + 1]).toBe('start_instances');
    expect(plan.steps[i]!.step).toEqual({ kind: 'stop_instances', pool: 'green', release: R1, instances: ['green-0', 'green-1'], delayMs: 0 });
  });
});

describe('blue-green leftovers', () => {
  it('stops any pool besides the live one first (recreate\'s stable holds blue\'s ports)', () => {
    const o = observed({ current: R2, pools: [pool('green', 100, R2, 4100), pool('stable', 0, R1, 4000)] });
    const plan = planBlueGreen(load('blue-green'), o, { deployId: 'd6', release: NEW });
    expect(stepOf(plan, 'stop_instances')[0]).toEqual({ kind: 'stop_instances', pool: 'stable', release: R1, instances: ['stable-0', 'stable-1', 'stable-2'], delayMs: 0 });
    expect(stepOf(plan, 'start_instances')[0]!.pool).toBe('blue');
  });
});

describe('rolling rollback after a partly kept-back deploy', () => {
  it('leaves instances already on the target alone', () => {
    const live = pool('stable', 100, NEW, 4000);
    live.instances[1]!.release = R2;
    const o = observed({ current: NEW, rollbackPoint: R2, releases: [info(R2), info(NEW)], pools: [live] });
    const plan = planRollback(load('rolling'), o, { deployId: 'r5' });
    expect(stepOf(plan, 'stop_instance').map((s) => s.id)).toEqual(['stable-0', 'stable-2']);
    expect(plan.tolerate).toEqual({ maxFailures: 2 });
  });
});

describe('rolling plan', () => {
  it('resolves counts and percentages against the instance count', () => {
    expect([resolveCount(2, 10), resolveCount('25%', 10), resolveCount('1%', 10), resolveCount(50, 3), resolveCount(0, 3)]).toEqual([2, 3, 1, 3, 1]);
  });

  it('batches of min(batch_size, max_unavailable), one action a step for each instance, delay between batches only, then current', () => {
    const o = observed({ current: R2, releases: [info(R1), info(R2)], pools: [pool('stable', 100, R2, 4000)] });
    const plan = planRolling(load('rolling'), o, { deployId: 'd4', release: NEW });
    const rolling = plan.steps.filter((p) => p.batch !== undefined || p.step.kind === 'wait');
    expect(rolling.map((p) => [p.batch ?? null, p.group ?? null, p.step.kind])).toEqual(
      [1, 2, 3].flatMap((b) => [
        ...(b > 1 ? [[null, null, 'wait']] : []),
        ...['drain_target', 'stop_instance', 'start_instance', 'health_check', 'enable_target'].map((k) => [b, `stable-${b - 1}`, k]),
      ]),
    );
    expect(rolling.slice(0, 5).map((p) => p.step)).toEqual([
      { kind: 'drain_target', id: 'stable-0', pool: 'stable', timeoutMs: 30_000 },
      { kind: 'stop_instance', id: 'stable-0', port: 4000, pool: 'stable', release: R2 },
      { kind: 'start_instance', id: 'stable-0', port: 4000, pool: 'stable', release: NEW },
      { kind: 'health_check', release: NEW, pool: 'stable', ports: [4000], checks: ['http http://127.0.0.1:4000/health'] },
      { kind: 'enable_target', id: 'stable-0', pool: 'stable', timeoutMs: 30_000 },
    ]);
    expect(stepOf(plan, 'wait')).toEqual([
      { kind: 'wait', ms: 3000, reason: 'batch_delay before batch 2/3' },
      { kind: 'wait', ms: 3000, reason: 'batch_delay before batch 3/3' },
    ]);
    expect(plan.tolerate).toEqual({ maxFailures: 2 });
    expect(kinds(plan)[kinds(plan).lastIndexOf('enable_target') + 1]).toBe('set_current');
    expect(rolling.filter((p) => p.step.kind !== 'health_check' && p.step.kind !== 'wait').every((s) => s.live && s.onError === 'abort')).toBe(true);
  });

  it('runs the instances of a batch side by side: one batch number, a group each', () => {
    const o = observed({ current: R2, releases: [info(R1), info(R2)], pools: [pool('stable', 100, R2, 4000)] });
    const plan = planRolling(parseManifest(manifest('rolling').replace('max_unavailable: 1', 'max_unavailable: 2'), { env: {} }), o, { deployId: 'd6', release: NEW });
    expect(plan.steps.filter((p) => p.batch === 1).map((p) => `${p.group}:${p.step.kind}`)).toEqual(
      ['stable-0', 'stable-1'].flatMap((g) => ['drain_target', 'stop_instance', 'start_instance', 'health_check', 'enable_target'].map((k) => `${g}:${k}`)),
    );
  });

  it('with nothing running, starts every instance and routes to them', () => {
    const plan = planRolling(load('rolling'), observed(), { deployId: 'd5', release: NEW });
    expect(kinds(plan)).toContain('start_instances');
    expect(kinds(plan)).not.toContain('drain_target');
    expect(plan.tolerate).toBeUndefined();
    expect(stepOf(plan, 'switch_traffic')[0]).toMatchObject({ to: 'stable', from: null });
  });
});

describe('rollback on the runtime', () => {
  it('a warm slot with the target: only traffic moves (no instance starts)', () => {
    const o = observed({ current: NEW, rollbackPoint: R2, releases: [info(R1), info(R2), info(NEW)], pools: [pool('blue', 0, R2, 4000), pool('green', 100, NEW, 4100)] });
    const plan = planRollback(load('blue-green'), o, { deployId: 'r1' });
    expect(kinds(plan)).toEqual(['hook:pre_rollback', 'switch_traffic', 'health_check', 'stop_instances', 'hook:post_rollback', 'hook:on_rollback']);
    expect(stepOf(plan, 'switch_traffic')[0]).toMatchObject({ release: R2, to: 'blue', from: 'green', pointers: { rollback_point: R1, pre_rollback_release: NEW } });
    expect(plan.failureIsManual).toBe(true);
  });

  it('blue-green without a warm slot starts the target in the idle slot first', () => {
    const o = observed({ current: NEW, rollbackPoint: R2, releases: [info(R2), info(NEW)], pools: [pool('green', 100, NEW, 4100)] });
    const plan = planRollback(load('blue-green'), o, { deployId: 'r2' });
    expect(stepOf(plan, 'start_instances')[0]).toMatchObject({ pool: 'blue', release: R2 });
  });

  it('rolling rolls the instances back in batches', () => {
    const o = observed({ current: NEW, rollbackPoint: R2, releases: [info(R2), info(NEW)], pools: [pool('stable', 100, NEW, 4000)] });
    const plan = planRollback(load('rolling'), o, { deployId: 'r3' });
    expect(stepOf(plan, 'start_instance').map((b) => [b.id, b.release])).toEqual([['stable-0', R2], ['stable-1', R2], ['stable-2', R2]]);
    expect(stepOf(plan, 'stop_instance').map((b) => b.release)).toEqual([NEW, NEW, NEW]);
    expect(plan.tolerate).toEqual({ maxFailures: 2 });
    expect(kinds(plan)).toContain('set_current');
  });

  it('recreate on the runtime restarts through the process manager and checks every instance', () => {
    const o = observed({ current: NEW, rollbackPoint: R2, releases: [info(R2), info(NEW)], pools: [pool('stable', 100, NEW, 4000)] });
    const plan = planRollback(load('recreate'), o, { deployId: 'r4' });
    expect(stepOf(plan, 'activate')[0]).toMatchObject({ release: R2, manager: 'process' });
    expect(stepOf(plan, 'health_check')[0]).toMatchObject({ ports: [4000, 4001, 4002], pool: 'stable' });
  });
});
