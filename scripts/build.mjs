// Bundles the CLI into dist/ with esbuild: one small entry chunk (so `deployer --version` starts
// fast) and lazily loaded chunks for the verbs. Builds into a temp dir and swaps it in, so a
// CLI started while a build runs finds the old dist/ or the new one, whole.
import { build } from 'esbuild';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'));
const tmp = `dist.tmp-${process.pid}`;

rmSync(`${root}/${tmp}`, { recursive: true, force: true });
const common = {
  absWorkingDir: root,
  outdir: tmp,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  define: { __DEPLOYER_VERSION__: JSON.stringify(pkg.version) },
  // CommonJS dependencies bundled into ESM need a require()
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: 'warning',
};
// the CLI, the runtime daemon (supervisor + control API) and the router process it supervises
await build({ ...common, entryPoints: { cli: 'src/cli/main.ts', runtimed: 'src/runtime/daemon/main.ts', router: 'src/runtime/router/main.ts' }, splitting: true });
// the agent a fleet's hosts run (src/fleet/agent-main.ts): one file, so it starts fast
await build({ ...common, entryPoints: { agent: 'src/fleet/agent-main.ts' } });
const old = `${root}/dist.old-${process.pid}`;
if (existsSync(`${root}/dist`)) renameSync(`${root}/dist`, old);
renameSync(`${root}/${tmp}`, `${root}/dist`);
rmSync(old, { recursive: true, force: true });
