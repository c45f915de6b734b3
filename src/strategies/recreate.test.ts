import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest/load.js';
import type { Plan, PlannedStep } from '../plan/steps.js';
import type { ReleaseInfo } from '../release/list.js';
import type { Observed } from './observe.js';
import { planRecreate } from './recreate.js';

const MANIFEST = `name: shop
source: { type: local, path: ./app }
deployment: { keep_releases: 4 }
service: { manager: script, restart_command: ./bin/restart, base_port: 3000 }
health_checks:
  - { url: "http://127.0.0.1:{port}/health" }
  - { command: "test -f ready", name: ready-file }
`;
const load = (text = MANIFEST) => parseManifest(text, { env: {} });

const R1 = '20240101_000001';
const R2 = '20240101_000002';
const R3 = '20240101_000003';
const NEW = '20240102_000000';
const info = (id: string): ReleaseInfo => ({ id, dir: `/srv/shop/releases/${id}`, complete: true, protected: false, failed: false, meta: null });
const observed = (o: Partial<Observed> = {}): Observed => ({ current: null, rollbackPoint: null, preRollback: null, releases: [], pools: null, ...o });

const hook = (event: string, release: string, onError: 'abort' | 'warn', args?: string[]): PlannedStep => ({
  step: { kind: 'hook', event, release, ...(args ? { args } : {}) } as PlannedStep['step'],
  onError,
});
const CHECKS = ['http http://127.0.0.1:3000/health', 'ready-file'];

describe('planRecreate', () => {
  it('plans a redeploy over a live release', () => {
    const plan = planRecreate(load(), observed({ current: R2, rollbackPoint: R1, preRollback: R3, releases: [info(R1), info(R2), info(R3)] }), { deployId: 'dep-1', release: NEW });
    const expected: Plan = {
      operation: 'deploy',
      deployId: 'dep-1',
      app: 'shop',
      strategy: 'recreate',
      release: NEW,
      previous: R2,
      steps: [
        { step: { kind: 'prepare_release', release: NEW, previous: R2, source: 'directory ./app' }, onError: 'abort' },
        hook('pre_deploy', NEW, 'abort'),
        hook('check_dependencies', NEW, 'abort'),
        hook('pre_build', NEW, 'abort'),
        hook('build', NEW, 'abort'),
        hook('pre_activate', NEW, 'abort'),
        {
          step: {
            kind: 'activate',
            release: NEW,
            previous: R2,
            manager: 'script',
            pointers: { rollback_point: R2, pre_rollback_release: null },
            pointersBefore: { rollback_point: R1, pre_rollback_release: R3 },
          },
          onError: 'abort',
          live: true,
        },
        { step: { kind: 'health_check', release: NEW, checks: CHECKS }, onError: 'abort' },
        hook('post_deploy', NEW, 'warn'),
        hook('post_activate', NEW, 'warn'),
        hook('notify', NEW, 'warn'),
        { step: { kind: 'cleanup', keep: 4 }, onError: 'warn' },
      ],
      rollback: {
        before: [hook('pre_rollback', R2, 'warn')],
        verify: [{ step: { kind: 'health_check', release: R2, checks: CHECKS }, onError: 'abort' }],
        after: [hook('post_rollback', R2, 'warn'), hook('on_rollback', R2, 'warn', [NEW, R2])],
      },
      onFailure: [hook('on_failure', R2, 'warn')],
      undoLive: true,
      failureIsManual: false,
    };
    expect(plan).toEqual(expected);
  });

  it('plans a first deploy: nothing to link from, nothing to roll back to', () => {
    const plan = planRecreate(load(), observed(), { deployId: 'dep-0', release: NEW });
    expect(plan.previous).toBeNull();
    expect(plan.steps[0]!.step).toEqual({ kind: 'prepare_release', release: NEW, previous: null, source: 'directory ./app' });
    const activate = plan.steps.find((s) => s.step.kind === 'activate')!;
    expect(activate).toEqual({
      step: { kind: 'activate', release: NEW, previous: null, manager: 'script', pointers: { pre_rollback_release: null }, pointersBefore: { rollback_point: null, pre_rollback_release: null } },
      onError: 'abort',
      live: true,
    });
    expect(plan.rollback).toEqual({ before: [], verify: [], after: [] });
    expect(plan.onFailure).toEqual([hook('on_failure', NEW, 'warn')]);
  });

  it('marks only the activation as live, and puts every abort step before the post hooks', () => {
    const plan = planRecreate(load(), observed({ current: R1, releases: [info(R1)] }), { deployId: 'd', release: NEW });
    expect(plan.steps.filter((s) => s.live).map((s) => s.step.kind)).toEqual(['activate']);
    const lastAbort = plan.steps.map((s) => s.onError).lastIndexOf('abort');
    expect(plan.steps[lastAbort]!.step.kind).toBe('health_check');
    expect(plan.steps.slice(lastAbort + 1).every((s) => s.onError === 'warn')).toBe(true);
  });

  it('has no health-check step without checks, and follows auto_rollback', () => {
    const text = 'name: shop\ndeployment: { auto_rollback: false }\n';
    const plan = planRecreate(load(text), observed({ current: R1, releases: [info(R1)] }), { deployId: 'd', release: NEW });
    expect(plan.steps.map((s) => (s.step.kind === 'hook' ? s.step.event : s.step.kind))).toEqual([
      'prepare_release',
      'pre_deploy',
      'check_dependencies',
      'pre_build',
      'build',
      'pre_activate',
      'activate',
      'post_deploy',
      'post_activate',
      'notify',
      'cleanup',
    ]);
    expect(plan.rollback.verify).toEqual([]);
    expect(plan.undoLive).toBe(false);
    expect(plan.steps.find((s) => s.step.kind === 'activate')!.step).toMatchObject({ manager: 'none' });
    expect(plan.steps.at(-1)!.step).toEqual({ kind: 'cleanup', keep: 5 });
  });

  it('describes git and archive sources without credentials', () => {
    const git = load('name: a\nsource: { type: git, url: "https://user:tok3n@git.example/r.git", branch: v2 }\n');
    expect(planRecreate(git, observed(), { deployId: 'd', release: NEW }).steps[0]!.step).toMatchObject({ source: 'git https://git.example/r.git at v2' });
    const archive = load('name: a\nsource: { type: archive, url: "https://u:p@dl.example/app.tar.gz" }\n');
    expect(planRecreate(archive, observed(), { deployId: 'd', release: NEW }).steps[0]!.step).toMatchObject({ source: 'archive https://dl.example/app.tar.gz' });
  });
});
