// Which router changes each step previews (as its handler makes them), and how the lines come
// back per step; the router is a fake that records what it is asked.
import { describe, expect, it } from 'vitest';
import type { PlannedStep, Step } from '../plan/steps.js';
import type { Router, RouterAction } from '../routers/types.js';
import { previewRouterSteps, routerActionsOf } from './router-preview.js';

const planned = (steps: Step[]): PlannedStep[] => steps.map((step) => ({ step, onError: 'abort' }));
const steps: Step[] = [
  { kind: 'start_instances', pool: 'green', release: 'r2', instances: [{ id: 'green-0', port: 3100 }] },
  { kind: 'smoke_test', release: 'r2', pool: 'green', ports: [3100], checks: [] },
  { kind: 'switch_traffic', release: 'r2', previous: 'r1', to: 'green', from: 'blue', pointers: {}, pointersBefore: {} },
  { kind: 'stop_instances', pool: 'blue', release: 'r1', instances: ['blue-0'], delayMs: 30_000 },
  { kind: 'stop_instances', pool: 'blue', release: 'r1', instances: ['blue-0'], delayMs: 0 },
  { kind: 'set_weights', weights: { stable: 90, canary: 10 }, previous: { stable: 100 } },
  { kind: 'drain_target', id: 'web-0', pool: 'web', timeoutMs: 1000 },
  { kind: 'stop_instance', id: 'web-0', port: 3000, pool: 'web', release: 'r1' },
  { kind: 'start_instance', id: 'web-0', port: 3000, pool: 'web', release: 'r2' },
  { kind: 'enable_target', id: 'web-0', pool: 'web', timeoutMs: 1000 },
  { kind: 'set_routes', routes: [] },
];

describe('routerActionsOf', () => {
  it('maps each step to the router calls its handler makes (a warm stop: none now)', () => {
    expect(steps.map(routerActionsOf)).toEqual([
      [{ kind: 'add_targets', pool: 'green', targets: [{ id: 'green-0', host: '127.0.0.1', port: 3100, release: 'r2' }] }],
      [],
      [{ kind: 'weights', weights: { blue: 0, green: 100 } }],
      [],
      [{ kind: 'remove_targets', ids: ['blue-0'] }],
      [{ kind: 'weights', weights: { stable: 90, canary: 10 } }],
      [{ kind: 'drain', id: 'web-0' }],
      [{ kind: 'remove_targets', ids: ['web-0'] }],
      [{ kind: 'add_targets', pool: 'web', targets: [{ id: 'web-0', host: '127.0.0.1', port: 3000, release: 'r2' }] }],
      [{ kind: 'enable', id: 'web-0' }],
      [{ kind: 'routes', routes: [] }],
    ]);
  });
});

describe('previewRouterSteps', () => {
  const fake = (preview?: (a: RouterAction[]) => Promise<{ lines: string[] }[]>) => ({ kind: 'nginx', ...(preview ? { preview } : {}) }) as unknown as Router;

  it('asks once for every change in plan order, and gives each step its lines', async () => {
    const asked: RouterAction[][] = [];
    const r = fake(async (a) => {
      asked.push(a);
      return a.map((x, i) => ({ lines: x.kind === 'routes' ? [] : [`${i} ${x.kind}`] }));
    });
    const out = await previewRouterSteps(r, planned(steps));
    expect(asked).toHaveLength(1);
    expect(out).toEqual([['0 add_targets'], null, ['1 weights'], null, ['2 remove_targets'], ['3 weights'], ['4 drain'], ['5 remove_targets'], ['6 add_targets'], ['7 enable'], null]);
  });

  it('a router it cannot read says so under each step that touches it; no preview: nothing', async () => {
    const out = await previewRouterSteps(fake(async () => Promise.reject(new Error('router.nginx.config_file: unreadable'))), planned(steps.slice(0, 3)));
    expect(out).toEqual([['cannot preview: router.nginx.config_file: unreadable'], null, ['cannot preview: router.nginx.config_file: unreadable']]);
    expect(await previewRouterSteps(fake(), planned(steps.slice(0, 3)))).toEqual([null, null, null]);
    expect(await previewRouterSteps(undefined, planned(steps.slice(0, 1)))).toEqual([null]);
  });
});
