// Fleet benchmark, the peers' setup: installing Capistrano and Shipit when missing, and the local
// bare git repo holding the same release as Deployer's (bench/fleet-workload.mjs) that both deploy.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';
import { changeOneFile, makeWorkload } from './fleet-workload.mjs';

/** npm cache dir for Shipit, outside the repo's package.json (gitignored: bench/.peers/). */
export const PEERS_DIR = join(ROOT, 'bench', '.peers');
/** Repo, peer configs and logs; under /tmp so the hosts (which share /tmp) reach the repo by path. */
export const WORK = '/tmp/dt-bench-peers';
export const VERSIONS = Object.freeze({ 'shipit-cli': '5.3.0', 'shipit-deploy': '5.3.0', capistranoDeb: 'capistrano' });

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const git = (args, opts = {}) => {
  const r = spawnSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@localhost', '-c', 'init.defaultBranch=main', ...args], { encoding: 'utf8', ...opts });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

function aptInstall(pkgs) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const args = ['install', '-y', '--no-install-recommends', ...pkgs];
  let r = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore', timeout: 600_000 });
    r = spawnSync('apt-get', args, { env, encoding: 'utf8', timeout: 600_000 });
  }
  if (r.status !== 0) throw new Error(`apt-get install ${pkgs.join(' ')} failed:\n${r.stderr}`);
}

/**
 * Installs what the peers need when missing: Debian's capistrano (+ ruby-ed25519 and
 * ruby-bcrypt-pbkdf, which net-ssh needs for the hosts' ed25519 key), and shipit-cli/shipit-deploy
 * at pinned versions into bench/.peers/. Returns the versions found.
 */
export async function installPeers() {
  const rubyOk = () => spawnSync('ruby', ['-e', "require 'ed25519'; require 'bcrypt_pbkdf'"], { stdio: 'ignore' }).status === 0;
  if (!has('cap') || !has('ruby') || !rubyOk()) aptInstall(['capistrano', 'ruby-ed25519', 'ruby-bcrypt-pbkdf']);
  if (!has('rsync') || !has('git')) aptInstall(['rsync', 'git']);
  const pinned = { 'shipit-cli': VERSIONS['shipit-cli'], 'shipit-deploy': VERSIONS['shipit-deploy'] };
  const installed = (name) => {
    try {
      return JSON.parse(readFileSync(join(PEERS_DIR, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return null;
    }
  };
  if (Object.entries(pinned).some(([n, v]) => installed(n) !== v)) {
    mkdirSync(PEERS_DIR, { recursive: true });
    writeFileSync(join(PEERS_DIR, '.gitignore'), '*\n'); // the whole cache dir stays out of git
    writeFileSync(join(PEERS_DIR, 'package.json'), `${JSON.stringify({ name: 'deployer-bench-peers', private: true, version: '0.0.0', dependencies: pinned }, null, 2)}\n`);
    const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PEERS_DIR, encoding: 'utf8', timeout: 600_000 });
    if (r.status !== 0) throw new Error(`npm install in ${PEERS_DIR} failed:\n${r.stderr}`);
  }
  const cap = spawnSync('cap', ['--version'], { encoding: 'utf8' }).stdout.trim();
  return { capistrano: cap, 'shipit-cli': installed('shipit-cli'), 'shipit-deploy': installed('shipit-deploy') };
}

/**
 * The release in a local bare git repo: the workload committed on branch main of a work clone,
 * pushed to `${dir}/repo.git`. Returns { dir, bare, url (file://), work, branch, head(),
 * commitOneFileChange() -> new head sha }.
 */
export async function preparePeerRepo({ dir = WORK } = {}) {
  const bare = join(dir, 'repo.git');
  const work = join(dir, 'work');
  rmSync(bare, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  makeWorkload(work);
  git(['init', '-q', '-b', 'main', work]);
  git(['-C', work, 'add', '-A']);
  git(['-C', work, 'commit', '-q', '-m', 'v1']);
  git(['init', '-q', '--bare', bare]);
  git(['-C', work, 'push', '-q', bare, 'main']);
  const repo = {
    dir,
    bare,
    url: `file://${bare}`,
    work,
    branch: 'main',
    head: () => git(['-C', work, 'rev-parse', 'HEAD']),
    commitOneFileChange() {
      const { n } = changeOneFile(work);
      git(['-C', work, 'commit', '-q', '-am', `change ${n}`]);
      git(['-C', work, 'push', '-q', bare, 'main']);
      return repo.head();
    },
  };
  return repo;
}
