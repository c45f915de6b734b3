// Fleet benchmark, Capistrano (Debian package `capistrano`, git SCM): deploys from the local bare
// git repo (bench/fleet-peer-setup.mjs), which every host clones/fetches over file:// since the
// hosts share /tmp with this machine. SSHKit's `on roles(:all)` runs every host at once.
// Each method resolves the command's run: { code, ms (wall), out, settle }.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostSshdPid } from './fleet-hosts.mjs';
import { WORK } from './fleet-peer-setup.mjs';
import { firstN, nextSecond, run, wipe } from './fleet-peer-run.mjs';

const CAPFILE = `# Deployer fleet bench: Capistrano with its git SCM, stock deploy flow.
require 'capistrano/setup'
require 'capistrano/deploy'
require 'capistrano/scm/git'
install_plugin Capistrano::SCM::Git

namespace :bench do
  desc 'Kill one bench host (its sshd, PID 1 of its namespace) as the switch starts'
  task :kill_host do
    pid = ENV['BENCH_KILL_PID'].to_i
    Process.kill(:KILL, pid) if pid > 1
    puts "bench: killed pid #{pid} before deploy:symlink:release"
  end
end
before 'deploy:symlink:release', 'bench:kill_host' unless ENV['BENCH_KILL_PID'].to_s.empty?
`;

const CAP_DEPLOY_RB = `lock '>= 3.0'
set :application, 'bench'
set :repo_url, ENV.fetch('BENCH_REPO')
set :branch, 'main'
set :deploy_to, ENV.fetch('BENCH_DEPLOY_TO')
# each host's own /tmp stand-in (the bench hosts share the machine's /tmp; real hosts do not)
set :tmp_dir, ENV.fetch('BENCH_TMP_DIR')
set :keep_releases, 5
set :log_level, :info
set :pty, false
set :ssh_options, {
  user: 'root',
  port: 22,
  keys: [ENV.fetch('BENCH_KEY')],
  keys_only: true,
  auth_methods: %w[publickey],
  user_known_hosts_file: ENV.fetch('BENCH_KNOWN_HOSTS'),
  verify_host_key: :always,
  non_interactive: true,
  config: false,
  timeout: 5,
}
`;

const CAP_STAGE_RB = `ENV.fetch('BENCH_HOSTS').split(',').each { |h| server h, user: 'root', roles: %w[app] }
`;

function capProject() {
  const dir = join(WORK, 'cap');
  mkdirSync(join(dir, 'config', 'deploy'), { recursive: true });
  writeFileSync(join(dir, 'Capfile'), CAPFILE);
  writeFileSync(join(dir, 'config', 'deploy.rb'), CAP_DEPLOY_RB);
  writeFileSync(join(dir, 'config', 'deploy', 'bench.rb'), CAP_STAGE_RB);
  mkdirSync(join(WORK, 'logs'), { recursive: true });
  return dir;
}

async function capRun(task, hosts, { n, repo, label, killPid, allowFail }) {
  await nextSecond();
  const env = {
    BENCH_HOSTS: firstN(hosts, n).join(','),
    BENCH_REPO: repo.url,
    BENCH_DEPLOY_TO: '/srv/peers/cap',
    BENCH_TMP_DIR: '/srv/peers/tmp',
    BENCH_KEY: hosts.keyFile,
    BENCH_KNOWN_HOSTS: hosts.knownHosts,
    BENCH_KILL_PID: killPid ? String(killPid) : '',
  };
  return run('cap', ['bench', task], { cwd: capProject(), env, log: join(WORK, 'logs', 'capistrano.log'), label: `capistrano ${label}`, allowFail });
}

export const capistrano = {
  name: 'capistrano',
  sub: 'peers/cap',
  /** Wipes /srv/peers/cap (and the per-host tmp dir) on every bench host. */
  reset(hosts) {
    wipe(hosts, 'peers/cap');
    wipe(hosts, 'peers/tmp');
  },
  /** `cap bench deploy` of the repo's head to hosts 1..n (fresh: wipe the hosts first, untimed). The run (wall ms in .ms). */
  async deploy(hosts, { n = hosts.n, repo, fresh = true }) {
    if (fresh) this.reset(hosts);
    return capRun('deploy', hosts, { n, repo, label: `deploy n=${n}` });
  },
  /** Commits a one-file change to the repo, then `cap bench deploy` to hosts 1..n (timed: the deploy). */
  async redeployOneFile(hosts, { n = hosts.n, repo }) {
    repo.commitOneFileChange();
    return capRun('deploy', hosts, { n, repo, label: `redeploy-one-file n=${n}` });
  },
  /** `cap bench deploy:rollback` on hosts 1..n. The run (wall ms in .ms). */
  async rollback(hosts, { n = hosts.n, repo }) {
    return capRun('deploy:rollback', hosts, { n, repo, label: `rollback n=${n}` });
  },
  /** Deploy with host `victim` killed as deploy:symlink:release starts; never throws on the peer's failure. */
  async deployKilling(hosts, { n, repo, victim }) {
    const pid = hostSshdPid(victim);
    if (!pid) throw new Error(`host ${victim} has no sshd`);
    return capRun('deploy', hosts, { n, repo, label: `deploy n=${n} killing h${victim}`, killPid: pid, allowFail: true });
  },
};
