// `npm run example`: installs what is missing, builds Deployer, and deploys examples/hello on this
// machine; prints the URL and what the app answers. `npm run example -- stop` stops the app.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const manifest = join(root, 'examples', 'hello', 'deploy.yml');
const port = Number(process.env.HELLO_PORT || 8080);
const home = process.env.DEPLOYER_HOME || join(process.env.HOME || homedir(), '.deployer');
const pidFile = join(home, 'apps', 'hello', 'shared', 'hello.pid');

if (process.argv[2] === 'stop') {
  if (!existsSync(pidFile)) {
    console.log('hello is not running');
    process.exit(0);
  }
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
    console.log(`stopped hello (pid ${pid})`);
  } catch {
    console.log('hello is not running');
  }
  process.exit(0);
}

if (!existsSync(join(root, 'node_modules', '.bin', 'esbuild'))) {
  console.error('installing dependencies (npm ci) ...');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
}
if (buildIsStale()) execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });

const deploy = spawnSync(process.execPath, [join(root, 'bin', 'deployer.js'), 'deploy', '-f', manifest, ...process.argv.slice(2)], { stdio: 'inherit' });
if (deploy.status !== 0) process.exit(deploy.status ?? 1);

const url = `http://127.0.0.1:${port}/`;
const res = await fetch(url).then((r) => r.text(), (e) => `(no answer: ${e.message})`);
console.log(`\nhello is live at ${url}\n  ${res.trim()}`);
console.log(`\nrun \`npm run example\` again to ship a new release; \`node bin/deployer.js rollback -f examples/hello/deploy.yml\` to go back;`);
console.log('`node bin/deployer.js status -f examples/hello/deploy.yml` for the state; `npm run example -- stop` to stop it.');

/** dist/ is older than some file under src/ (or missing). */
function buildIsStale() {
  const built = join(root, 'dist', 'cli.js');
  if (!existsSync(built)) return true;
  const builtAt = statSync(built).mtimeMs;
  const newest = (dir) =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  return newest(join(root, 'src')) > builtAt;
}
