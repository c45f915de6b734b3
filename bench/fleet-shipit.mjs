// Fleet benchmark, Shipit (npm shipit-cli + shipit-deploy, pinned, installed in bench/.peers/):
// shallow clone of the same repo into a local workspace, rsync to the hosts. Its ssh-pool runs each
// command on every server with Promise.all. Each method resolves the command's run:
// { code, ms (wall), out, settle }.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { closeMasters, hostSshdPid } from './fleet-hosts.mjs';
import { PEERS_DIR, WORK } from './fleet-peer-setup.mjs';
import { firstN, nextSecond, run, wipe } from './fleet-peer-run.mjs';

const SHIPIT_BIN = join(PEERS_DIR, 'node_modules', 'shipit-cli', 'bin', 'shipit');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const SHIPITFILE = (deployTo) => `// Deployer fleet bench: shipit-deploy's stock deploy and rollback tasks.
const deploy = require(${JSON.stringify(join(PEERS_DIR, 'node_modules', 'shipit-deploy'))});
module.exports = (shipit) => {
  deploy(shipit);
  const ssh = JSON.parse(process.env.BENCH_SSH_OPTIONS);
  shipit.initConfig({
    default: {
      deployTo: ${JSON.stringify(deployTo)},
      repositoryUrl: process.env.BENCH_REPO,
      branch: 'main',
      shallowClone: true,
      keepReleases: 5,
      deleteOnRollback: false,
    },
    bench: {
      servers: process.env.BENCH_HOSTS.split(',').map((host) => ({ host, user: 'root', extraSshOptions: ssh })),
    },
  });
  const victim = Number(process.env.BENCH_KILL_PID || 0);
  if (victim > 1) {
    // 'updated' is emitted at the end of deploy:update, right before deploy:publish (the switch)
    shipit.on('updated', () => {
      process.kill(victim, 'SIGKILL');
      shipit.log('bench: killed pid ' + victim + ' before deploy:publish');
    });
  }
};
`;

function shipitProject() {
  const dir = join(WORK, 'shipit');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'shipitfile.js'), SHIPITFILE('/srv/peers/shipit'));
  mkdirSync(join(WORK, 'logs'), { recursive: true });
  return dir;
}

/** The harness's ssh client config (hosts.configFile) as -o options, with a ControlPath of Shipit's own. */
function shipitSshOptions(hosts) {
  return {
    IdentityFile: hosts.keyFile,
    IdentitiesOnly: 'yes',
    UserKnownHostsFile: hosts.knownHosts,
    StrictHostKeyChecking: 'yes',
    BatchMode: 'yes',
    ConnectTimeout: '5',
    LogLevel: 'ERROR',
    ControlMaster: 'auto',
    ControlPath: `${join(hosts.state, 'cm-shipit')}/%C`,
    ControlPersist: '60',
  };
}

async function shipitRun(task, hosts, { n, repo, label, killPid, allowFail }) {
  const cm = join(hosts.state, 'cm-shipit');
  mkdirSync(cm, { recursive: true, mode: 0o700 });
  closeMasters(cm); // every run pays for its own connections, as Capistrano's does
  await nextSecond();
  const env = {
    BENCH_HOSTS: firstN(hosts, n).join(','),
    BENCH_REPO: repo.url,
    BENCH_SSH_OPTIONS: JSON.stringify(shipitSshOptions(hosts)),
    BENCH_KILL_PID: killPid ? String(killPid) : '',
  };
  const dir = shipitProject();
  try {
    return await run(process.execPath, [SHIPIT_BIN, 'bench', task, '--shipitfile', join(dir, 'shipitfile.js')], {
      cwd: dir,
      env,
      log: join(WORK, 'logs', 'shipit.log'),
      label: `shipit ${label}`,
      allowFail,
    });
  } finally {
    await waitSshClients(cm);
    closeMasters(cm);
  }
}

/**
 * When Shipit exits on an error, ssh clients it started for other hosts are still running (they
 * outlive it, as they would for a user). Closing the masters under them would cut those sessions,
 * which Shipit would not do: wait (at most 15 s) until no ssh client of ours is left. Clients carry
 * `-o ControlPath=<cm>/%C` in their argv; masters retitle themselves `ssh: <cm>/<hash> [mux]`.
 */
async function waitSshClients(cm) {
  const needle = `ControlPath=${cm}/`;
  for (let k = 0; k < 150; k++) {
    let clients = 0;
    for (const pid of readdirSync('/proc')) {
      if (!/^\d+$/.test(pid)) continue;
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) clients++;
      } catch {
        // gone meanwhile
      }
    }
    if (clients === 0) return;
    await sleep(100);
  }
}

export const shipit = {
  name: 'shipit',
  sub: 'peers/shipit',
  /** Wipes /srv/peers/shipit on every bench host. */
  reset(hosts) {
    wipe(hosts, 'peers/shipit');
  },
  /** `shipit bench deploy` of the repo's head to hosts 1..n (fresh: wipe the hosts first, untimed). The run (wall ms in .ms). */
  async deploy(hosts, { n = hosts.n, repo, fresh = true }) {
    if (fresh) this.reset(hosts);
    return shipitRun('deploy', hosts, { n, repo, label: `deploy n=${n}` });
  },
  /** Commits a one-file change to the repo, then `shipit bench deploy` to hosts 1..n (timed: the deploy). */
  async redeployOneFile(hosts, { n = hosts.n, repo }) {
    repo.commitOneFileChange();
    return shipitRun('deploy', hosts, { n, repo, label: `redeploy-one-file n=${n}` });
  },
  /** `shipit bench rollback` on hosts 1..n. The run (wall ms in .ms). */
  async rollback(hosts, { n = hosts.n, repo }) {
    return shipitRun('rollback', hosts, { n, repo, label: `rollback n=${n}` });
  },
  /** Deploy with host `victim` killed on Shipit's 'updated' event (right before deploy:publish); never throws on the peer's failure. */
  async deployKilling(hosts, { n, repo, victim }) {
    const pid = hostSshdPid(victim);
    if (!pid) throw new Error(`host ${victim} has no sshd`);
    return shipitRun('deploy', hosts, { n, repo, label: `deploy n=${n} killing h${victim}`, killPid: pid, allowFail: true });
  },
};
