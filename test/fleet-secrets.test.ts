// Secrets on a fleet: a value from `${VAR}` in a check URL's path (shown, so only the Redactor
// hides it) and in `environment:` (printed by build_local on this machine), with a deploy to two
// real SSH hosts that fails its checks there. The driver prints what the hosts' agents send it
// and the staged build's output: neither the terminal, --json, the driver's files nor any
// host's state holds the value.
import { afterAll, describe, expect, it } from 'vitest';
import { filesContaining } from './support/fixtures.js';
import { hostResults, useFleetApp, type FleetApp } from './support/fleet.js';

const TOKEN = 'fleet-Tok-3c9d2e';

const apps: FleetApp[] = [];
afterAll(() => apps.forEach((a) => a.cleanup()));

describe('a fleet deploy', () => {
  const app = useFleetApp({
    name: 'flsec',
    hosts: [1, 2],
    body: ({ appRoot, config }) => `deployment: { strategy: recreate, app_root: ${appRoot} }
ssh: { config_file: ${config}, parallel: 2 }
service: { manager: none }
router: { type: none }
environment: { BUILD_NOTE: "\${FLEET_TOKEN}" }
health_checks:
  - { url: "http://127.0.0.1:9/\${FLEET_TOKEN}/health", timeout: 1s, interval: 200ms }
hooks:
  build_local: ["echo building with $BUILD_NOTE"]
`,
  });
  apps.push(app);

  it('shows and stores no secret, from the hosts or from the build here', async () => {
    const r = await app.run(['deploy', '--json', '--verbose'], { env: { FLEET_TOKEN: TOKEN } });
    expect(r.code, r.stderr).toBe(1);
    // the build's line and the hosts' check lines were shown, masked
    expect(r.stderr).toContain('building with ***');
    expect(r.stderr).toContain('http://127.0.0.1:9/***/health');
    const hosts = hostResults(r);
    expect(Object.keys(hosts).sort()).toEqual(['h1', 'h2']);
    for (const h of Object.values(hosts)) expect(h.result).not.toBe('succeeded');
    expect(r.stdout + r.stderr).not.toContain(TOKEN);
    expect(filesContaining(app.home, TOKEN), 'driver files holding the secret').toEqual([]);
    for (const h of app.hosts) expect(filesContaining(app.onHost(h, app.appRoot), TOKEN), `${h.name}: files holding the secret`).toEqual([]);
  });
});
