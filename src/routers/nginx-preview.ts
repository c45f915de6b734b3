// What a change of router.type nginx would do, as `--dry-run` prints it: the servers the file
// would hold, then the test and the reload. Pure over (state read from the file, action).
import { checkState, serverLines, type NginxState } from './nginx-config.js';
import { nginxEdit } from './nginx-edits.js';
import { describeRoute, describeShares } from './preview.js';
import type { RouterAction } from './types.js';

export interface NginxPreviewConfig {
  config_file: string;
  upstream: string;
  test_command: string;
  reload_command: string;
}

export function previewNginx(cfg: NginxPreviewConfig, s: NginxState, a: RouterAction): { lines: string[]; next: NginxState } {
  const next = nginxEdit(s, a, cfg.config_file);
  checkState(next);
  const servers = serverLines(next).map((l) => `${l.directive.replace(/;$/, '')} (${l.target.id})`);
  const shares = next.pools.length ? ` (${describeShares(next.pools.map((p) => p.name), next.weights)})` : '';
  const routes = next.routes.length ? `; routes: ${next.routes.map(describeRoute).join('; ')}` : '';
  return {
    lines: [
      `write ${cfg.config_file}: upstream ${cfg.upstream}${shares}: ${servers.length ? servers.join(', ') : 'no server (nginx answers 502)'}${routes}`,
      `test: ${cfg.test_command}`,
      `reload: ${cfg.reload_command}`,
    ],
    next,
  };
}
