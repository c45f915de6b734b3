import { describe, expect, it } from 'vitest';
import { parseManifest } from '../manifest/load.js';
import { poolInstances, runsPools, startTimeout } from './pools.js';

const load = (checks = '  - { url: "http://127.0.0.1:{port}/healthz", timeout: 12s }\n') =>
  parseManifest(
    `name: my.app
source: { type: local, path: ./app }
service: { manager: process, command: node server.js, instances: 2, base_port: 5000 }
router: { type: embedded, listen: 9000 }
health_checks:
${checks}`,
    { env: {} },
  );

describe('pools', () => {
  it('gives each pool its own port range from base_port', () => {
    const l = load();
    expect(runsPools(l)).toBe(true);
    expect(poolInstances(l, 'blue')).toEqual([{ id: 'blue-0', port: 5000 }, { id: 'blue-1', port: 5001 }]);
    expect(poolInstances(l, 'green')).toEqual([{ id: 'green-0', port: 5100 }, { id: 'green-1', port: 5101 }]);
    expect(poolInstances(l, 'stable', 3).map((i) => i.port)).toEqual([5000, 5001, 5002]);
  });

  it('waits for a new instance as long as the longest health check allows', () => {
    expect(startTimeout(load())).toBe(12_000);
    expect(startTimeout(load('  []\n'))).toBe(30_000);
  });
});
