// Fleet benchmark, one host killed as the switch starts: what each tool leaves behind on 3 hosts
// when host 2 dies (its sshd, PID 1 of its namespace: every process there dies) as its switch
// starts, and whether the next deploy recovers (Deployer).
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { currentHosts, killHostSshd, reviveHost } from './fleet-hosts.mjs';
import { cli, ctx, currentOn, onHost, resetHosts, writeManifest } from './fleet-cli.mjs';
import { capistrano } from './fleet-capistrano.mjs';
import { shipit } from './fleet-shipit.mjs';
import { preparePeerRepo } from './fleet-peer-setup.mjs';
import { changeOneFile } from './fleet-workload.mjs';
import { round } from './lib.mjs';

const KILL_ROOT = '/srv/bench/deployer-kill';
const KILL_BLOCK = '/srv/bench/deployer-kill-block';
const KILL_AT_CHECK = '/srv/bench/deployer-kill-at-check';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const PEERS = { capistrano, shipit };

// ---- Deployer

/**
 * On host2 only, and only while KILL_BLOCK exists there, the health check (which runs once the
 * host has switched) says so by touching KILL_AT_CHECK and hangs; the bench then kills host2's
 * sshd (PID 1 of its namespace: every process there dies, like the host dying). h1 and h3 have
 * switched by then and wait for h2 at the fleet's commit.
 */
const KILL_CHECK = `health_checks:
  - type: command
    command: 'if [ "$(hostname)" = host2 ] && [ -e ${KILL_BLOCK} ]; then touch ${KILL_AT_CHECK}; sleep 120; fi; exit 0'
    timeout: 150s
    interval: 100ms
`;

/**
 * Deploys v1 to hosts 1..n, then v2 (a one-file change) killing host `victim` once it has switched
 * (KILL_CHECK), then a third deploy that should recover. Returns { h1: 'v1', ..., mixed, ... }.
 */
export async function deployerKilledAtSwitch({ n = 3, victim = 2 } = {}) {
  const rmMarkers = () => {
    rmSync(onHost(victim, KILL_BLOCK), { force: true });
    rmSync(onHost(victim, KILL_AT_CHECK), { force: true });
  };
  resetHosts(KILL_ROOT, n);
  rmMarkers();
  writeManifest('kill.yml', { name: 'bench-kill', n, appRoot: KILL_ROOT, extra: KILL_CHECK });
  const r1 = await cli(['deploy'], { manifest: 'kill.yml' });
  if (r1.code !== 0 || r1.json?.result !== 'succeeded') throw new Error(`killed-at-switch: v1 deploy failed (exit ${r1.code})\n${r1.stderr.slice(-3000)}`);
  const v1 = r1.json.release;
  changeOneFile(ctx.appDir);
  writeFileSync(onHost(victim, KILL_BLOCK), '');
  let r;
  let killedAt;
  try {
    const deploying = cli(['deploy'], { manifest: 'kill.yml' });
    let finished = false;
    deploying.then(
      () => (finished = true),
      () => (finished = true),
    );
    const deadline = performance.now() + 120_000; // the machine settles first: at most 15 s of it
    while (!existsSync(onHost(victim, KILL_AT_CHECK))) {
      if (performance.now() > deadline || finished) {
        if (ctx.child) process.kill(ctx.child.pid, 'SIGKILL');
        const early = await deploying;
        throw new Error(`killed-at-switch: h${victim} never reached its check (exit ${early.code})\n${early.stderr.slice(-3000)}`);
      }
      await sleep(25);
    }
    await killHostSshd(victim);
    killedAt = performance.now();
    r = await deploying;
  } finally {
    rmMarkers();
    await reviveHost(victim);
  }
  const v2 = r.json?.release && r.json.release !== v1 ? r.json.release : null; // the interrupted deploy's release
  const releasesOn = (i) => {
    try {
      return readdirSync(onHost(i, `${KILL_ROOT}/releases`)).sort();
    } catch {
      return [];
    }
  };
  const label = (rel) => (rel === v1 ? 'v1' : rel === null ? 'none' : rel === v2 ? 'v2' : `other:${rel}`);
  const out = {};
  for (let i = 1; i <= n; i++) out[`h${i}`] = label(currentOn(i, KILL_ROOT));
  const survivors = Object.entries(out).filter(([h]) => h !== `h${victim}`).map(([, v]) => v);
  const hostsJson = Object.fromEntries((r.json?.hosts ?? []).map((h) => [h.host, h.result]));
  const releases = Object.fromEntries(Array.from({ length: n }, (_, k) => [`h${k + 1}`, releasesOn(k + 1).map(label)]));
  // the next deploy should undo h2's interrupted one and then go through everywhere
  const r3 = await cli(['deploy'], { manifest: 'kill.yml' });
  const recovered =
    r3.code === 0 && r3.json?.result === 'succeeded' && Array.from({ length: n }, (_, k) => currentOn(k + 1, KILL_ROOT)).every((c) => c === r3.json.release);
  const res = {
    ...out,
    mixed: new Set(Object.values(out)).size > 1,
    survivorsMixed: new Set(survivors).size > 1,
    survivorsOnV1: survivors.every((s) => s === 'v1'),
    killed: `h${victim}`,
    exitCode: r.code,
    wallMs: round(r.ms, 0),
    killedAfterMs: round(killedAt - r.t0, 0), // since the CLI started (after the settle)
    settle: r.settle,
    results: hostsJson,
    error: r.json?.error ?? null,
    releases,
    nextDeploy: { exitCode: r3.code, recovered, foundInterrupted: /interrupted deploy/.test(r3.stderr) },
    trigger: `h${victim}'s health check after its switch (h1, h3 switched and waiting at the commit)`,
  };
  resetHosts(KILL_ROOT, n);
  return res;
}

// ---- the peers

/** What `current` points at on host i for a peer: the release's REVISION sha, read on this machine. */
function currentRevision(hosts, i, sub) {
  const base = join(hosts.srv(i), sub);
  let target;
  try {
    target = readlinkSync(join(base, 'current'));
  } catch {
    return { release: null, revision: null };
  }
  const release = basename(target);
  let revision = null;
  try {
    revision = readFileSync(join(base, 'releases', release, 'REVISION'), 'utf8').trim();
  } catch {
    // current points at something without a REVISION file
  }
  return { release, revision };
}

/** Entries of host i's releases/ dir: each release's REVISION sha, or `stray:NAME` for anything else (e.g. a half-made symlink). */
function releasesOn(hosts, i, sub) {
  const dir = join(hosts.srv(i), sub, 'releases');
  let names = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    // no releases dir yet
  }
  return names.map((name) => {
    try {
      return { name, revision: readFileSync(join(dir, name, 'REVISION'), 'utf8').trim() };
    } catch {
      return { name, revision: null };
    }
  });
}

/**
 * Deploys v1 to hosts 1..n, then v2 (a one-file change) while killing host `victim`'s sshd as the
 * peer's switch starts (Capistrano: a task hooked before deploy:symlink:release; Shipit: its
 * 'updated' event, emitted right before deploy:publish). Then reads what `current` points at on
 * each host, revives the victim, and returns
 * { h1: 'v2', h2: 'v1', h3: 'v2', mixed: true, exitCode, wallMs, releases: {h1: [...]}, ... }.
 */
export async function killedAtSwitch(tool, { hosts = currentHosts(), repo, n = 3, victim = 2 } = {}) {
  const peer = typeof tool === 'string' ? PEERS[tool] : tool;
  if (!peer) throw new Error(`unknown peer ${tool}`);
  if (!repo) repo = await preparePeerRepo();
  await peer.deploy(hosts, { n, repo, fresh: true });
  const v1 = repo.head();
  const v2 = repo.commitOneFileChange();
  const label = (rev) => (rev === v1 ? 'v1' : rev === v2 ? 'v2' : rev ? `other:${rev.slice(0, 8)}` : 'none');
  let r;
  try {
    r = await peer.deployKilling(hosts, { n, repo, victim });
  } finally {
    await reviveHost(victim);
  }
  const out = {};
  const releases = {};
  for (let i = 1; i <= n; i++) {
    out[`h${i}`] = label(currentRevision(hosts, i, peer.sub).revision);
    releases[`h${i}`] = releasesOn(hosts, i, peer.sub).map((e) => (e.revision ? label(e.revision) : `stray:${e.name}`));
  }
  const states = new Set(Object.values(out));
  return {
    ...out,
    mixed: states.size > 1,
    killed: `h${victim}`,
    exitCode: r.code,
    wallMs: round(r.ms, 0),
    settle: r.settle,
    releases,
    trigger: peer === capistrano ? "before 'deploy:symlink:release'" : "shipit.on('updated') (right before deploy:publish)",
  };
}
