// npm run bench: every benchmark in turn; figures printed and written to bench/results/*.json.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const only = process.argv.slice(2);
const all = ['startup', 'rollback', 'deploy-tree', 'router', 'strategies', 'routers', 'canary', 'fleet'];
let failed = false;
for (const name of only.length ? only : all) {
  const r = spawnSync(process.execPath, [fileURLToPath(new URL(`./${name}.mjs`, import.meta.url))], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
