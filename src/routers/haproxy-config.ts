// The file Deployer owns (router.haproxy.config_file): `backend <name>` and its servers as the
// runtime API last set them, so a reload or restart of HAProxy loads what is live, plus the state
// line the next Deployer process reads the pools back from.
import { address } from './haproxy-commands.js';
import { desiredServers, emptyState, stateFromJson, stateToJson, type HaproxyState } from './haproxy-state.js';

const STATE_PREFIX = '# deployer-state: ';

/**
 * The whole file. A drained server is written with weight 0 (not its pool's weight) so a reload
 * never puts it back in rotation; a server in maintenance is `disabled`.
 */
export function renderConfig(backend: string, app: string, s: HaproxyState): string {
  const lines = [
    `# Written by Deployer for the app ${app} (router.haproxy.config_file). Do not edit: Deployer changes`,
    '# this backend through the runtime API and mirrors every change here, so a reload keeps it.',
    `${STATE_PREFIX}${stateToJson(s)}`,
    `backend ${backend}`,
    '    balance roundrobin',
    ...desiredServers(s).map((d) => `    server ${d.id} ${address(d.host, d.port)} weight ${d.weight}${d.admin === 'maint' ? ' disabled' : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The state kept in the file: empty when there is no file or no state line (a `backend` stub the
 * user wrote before the first deploy); a RouterError naming config_file when the line is broken.
 */
export function parseConfig(text: string | null): HaproxyState {
  if (text === null) return emptyState();
  const line = text.split('\n').find((l) => l.startsWith(STATE_PREFIX));
  return line === undefined ? emptyState() : stateFromJson(line.slice(STATE_PREFIX.length));
}
