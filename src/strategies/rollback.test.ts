import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import { parseManifest } from '../manifest/load.js';
import type { Plan } from '../plan/steps.js';
import type { ReleaseInfo } from '../release/list.js';
import type { Observed } from './observe.js';
import { planRollback, rollbackTarget } from './rollback.js';

const loaded = parseManifest(
  `name: shop
service: { manager: script, restart_command: ./bin/restart }
health_checks:
  - { command: "test -f ready", name: ready }
`,
  { env: {} },
);

const R = (n: number) => `20240101_00000${n}`;
const info = (n: number, o: Partial<ReleaseInfo> = {}): ReleaseInfo => ({ id: R(n), dir: `/srv/shop/releases/${R(n)}${o.failed ? '.failed' : ''}`, complete: true, protected: false, failed: false, meta: null, ...o });
const observed = (o: Partial<Observed> = {}): Observed => ({ current: null, rollbackPoint: null, preRollback: null, releases: [], pools: null, ...o });
const four = [info(1), info(2), info(3), info(4)];

function usage(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('rollbackTarget', () => {
  it('is the rollback point', () => {
    expect(rollbackTarget(observed({ current: R(4), rollbackPoint: R(2), releases: four }))).toBe(R(2));
  });

  it('falls back to the newest complete release before current', () => {
    const releases = [info(1), info(2, { complete: false }), info(3, { failed: true }), info(4)];
    // no rollback point
    expect(rollbackTarget(observed({ current: R(4), releases }))).toBe(R(1));
    // a rollback point that is current, gone, incomplete or only a failed copy is not used
    expect(rollbackTarget(observed({ current: R(4), rollbackPoint: R(4), releases }))).toBe(R(1));
    expect(rollbackTarget(observed({ current: R(4), rollbackPoint: R(5), releases }))).toBe(R(1));
    expect(rollbackTarget(observed({ current: R(4), rollbackPoint: R(2), releases }))).toBe(R(1));
    expect(rollbackTarget(observed({ current: R(4), rollbackPoint: R(3), releases }))).toBe(R(1));
    expect(rollbackTarget(observed({ current: R(3), releases: four }))).toBe(R(2));
  });

  it('takes --to when it is a complete release other than current', () => {
    expect(rollbackTarget(observed({ current: R(4), rollbackPoint: R(3), releases: four }), R(1))).toBe(R(1));
    // a newer release is fine too (roll forward)
    expect(rollbackTarget(observed({ current: R(2), releases: four }), R(4))).toBe(R(4));
  });

  it('refuses a --to that is missing, failed, incomplete or live', () => {
    const o = observed({ current: R(4), releases: [info(1), info(2, { complete: false }), info(3, { failed: true }), info(4)] });
    const missing = usage(() => rollbackTarget(o, R(9)));
    expect(missing.message).toBe(`release ${R(9)} does not exist`);
    expect(missing.hint).toBe('see `deployer releases`');
    expect(missing.exitCode).toBe(2);
    expect(usage(() => rollbackTarget(o, R(3))).message).toBe(`release ${R(3)} does not exist`);
    expect(usage(() => rollbackTarget(o, '../../etc')).message).toBe('release ../../etc does not exist');
    expect(usage(() => rollbackTarget(o, R(2))).message).toBe(`release ${R(2)} is incomplete (no .release_meta): it never finished preparing`);
    expect(usage(() => rollbackTarget(o, R(4))).message).toBe(`release ${R(4)} is already live`);
  });

  it('says why there is nothing to roll back to', () => {
    expect(usage(() => rollbackTarget(observed())).message).toBe('nothing is deployed yet: no release to roll back to');
    expect(usage(() => rollbackTarget(observed({ releases: [info(1)] }))).message).toBe('nothing is deployed yet: no release to roll back to');
    expect(usage(() => rollbackTarget(observed({ current: R(1), releases: [info(1), info(2)] }))).message).toBe(`no release to roll back to: ${R(1)} is the oldest release`);
  });
});

describe('planRollback', () => {
  it('switches back to the rollback point, checks it, and runs the rollback hooks', () => {
    const plan = planRollback(loaded, observed({ current: R(4), rollbackPoint: R(3), preRollback: R(1), releases: four }), { deployId: 'rb-1' });
    const expected: Plan = {
      operation: 'rollback',
      deployId: 'rb-1',
      app: 'shop',
      strategy: 'rollback',
      release: R(3),
      previous: R(4),
      steps: [
        { step: { kind: 'hook', event: 'pre_rollback', release: R(3) }, onError: 'warn' },
        {
          step: {
            kind: 'activate',
            release: R(3),
            previous: R(4),
            manager: 'script',
            // a second rollback goes further back; roll-forward returns to R(4)
            pointers: { rollback_point: R(2), pre_rollback_release: R(4) },
            pointersBefore: { rollback_point: R(3), pre_rollback_release: R(1) },
          },
          onError: 'abort',
          live: true,
        },
        { step: { kind: 'health_check', release: R(3), checks: ['ready'] }, onError: 'abort' },
        { step: { kind: 'hook', event: 'post_rollback', release: R(3) }, onError: 'warn' },
        { step: { kind: 'hook', event: 'on_rollback', release: R(3), args: [R(4), R(3)] }, onError: 'warn' },
      ],
      rollback: { before: [], verify: [], after: [] },
      onFailure: [{ step: { kind: 'hook', event: 'on_failure', release: R(3) }, onError: 'warn' }],
      undoLive: false,
      failureIsManual: true,
    };
    expect(plan).toEqual(expected);
  });

  it('goes to --to, with no rollback point left before the oldest release', () => {
    const plan = planRollback(loaded, observed({ current: R(4), rollbackPoint: R(3), releases: four }), { deployId: 'rb-2', to: R(1) });
    expect(plan.release).toBe(R(1));
    expect(plan.steps[1]!.step).toMatchObject({ kind: 'activate', release: R(1), previous: R(4), pointers: { rollback_point: null, pre_rollback_release: R(4) } });
    expect(plan.steps.at(-1)!.step).toEqual({ kind: 'hook', event: 'on_rollback', release: R(1), args: [R(4), R(1)] });
  });

  it('does not make the release it leaves the next rollback point', () => {
    // rolling forward from R(2) to R(4): the release before R(4) other than R(2) is R(3)
    const plan = planRollback(loaded, observed({ current: R(2), releases: four }), { deployId: 'rb-3', to: R(4) });
    expect(plan.steps[1]!.step).toMatchObject({ pointers: { rollback_point: R(3), pre_rollback_release: R(2) } });
  });

  it('refuses through rollbackTarget when there is nothing to go back to', () => {
    usage(() => planRollback(loaded, observed(), { deployId: 'rb-4' }));
  });
});
