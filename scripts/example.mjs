// `npm run example`: installs what is missing, builds Deployer, and deploys examples/hello on this
// machine on Deployer's runtime (supervisor + router, blue-green); prints the URL and what the app
// answers. `npm run example -- stop` stops the runtime (the app and the router).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = join(root, 'examples', 'hello', 'deploy.yml');
const port = Number(process.env.HELLO_PORT || 8080);
const home = process.env.DEPLOYER_HOME || join(process.env.HOME || homedir(), '.deployer');
const cli = join(root, 'bin', 'deployer.js');

if (process.argv[2] === 'stop') {
  // the app runs in Deployer's runtime daemon: stopping it stops the app's instances and the router
  const r = spawnSync(process.execPath, [cli, 'runtime', 'stop'], { stdio: 'inherit', env: { ...process.env, DEPLOYER_HOME: home } });
  process.exit(r.status ?? 1);
}

if (!existsSync(join(root, 'node_modules', '.bin', 'esbuild'))) {
  console.error('installing dependencies (npm ci) ...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
if (buildIsStale()) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });

const deploy = spawnSync(process.execPath, [cli, 'deploy', '-f', manifest, ...process.argv.slice(2)], { stdio: 'inherit' });
if (deploy.status !== 0) process.exit(deploy.status ?? 1);

const url = `http://127.0.0.1:${port}/`;
const res = await fetch(url).then((r) => r.text(), (e) => `(no answer: ${e.message})`);
console.log(`\nhello is live at ${url}\n  ${res.trim()}`);
console.log('\nrun `npm run example` again to ship a new release blue-green (no request is dropped),');
console.log('or `npm run example -- --strategy canary` to ship it as a canary judged by the router\'s metrics;');
console.log('`node bin/deployer.js rollback -f examples/hello/deploy.yml` to go back (instant while the old slot is warm);');
console.log('`node bin/deployer.js status -f examples/hello/deploy.yml` for slots, instances and weights; `npm run example -- stop` to stop it.');

/** dist/ is older than some file under src/ (or missing). */
function buildIsStale() {
  const built = join(root, 'dist', 'cli.js');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newest = (dir) =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  return newest(join(root, 'src')) > builtAt;
}
