import type { RawIssue } from './issues.js';
import type { Manifest } from './schema/index.js';

/**
 * Features the schema accepts but this build cannot carry out yet. `deploy` refuses a manifest
 * that uses any of them, naming each, instead of silently ignoring it.
 */
export function unsupportedFeatures(m: Manifest, strategy = m.deployment.strategy): RawIssue[] {
  const out: RawIssue[] = [];
  const no = (path: (string | number)[], what: string) => out.push({ path, message: `${what} is not supported yet` });
  if (strategy === 'rolling' || strategy === 'blue-green' || strategy === 'canary') {
    // both need instances of two versions side by side and a router to move traffic: for now the
    // runtime's supervisor (systemd units, containers and supervisord come next)
    if (['script', 'signal', 'none'].includes(m.service.manager)) no(['service', 'manager'], `strategy ${strategy} with service manager "${m.service.manager}" (use \`manager: process\`)`);
    if (m.router.type === 'none') no(['router', 'type'], `strategy ${strategy} without a router (use \`type: embedded\`, \`nginx\` or \`haproxy\`)`);
  }
  if (['systemd', 'docker', 'supervisor'].includes(m.service.manager)) no(['service', 'manager'], `service manager "${m.service.manager}"`);
  if (m.notifications) {
    for (const key of ['slack', 'webhook', 'email'] as const) if (m.notifications[key]) no(['notifications', key], `${key} notifications`);
  }
  return out;
}
