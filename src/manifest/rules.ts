import type { CheckTemplate } from './checks.js';
import { normalizeCheck, TEMPLATE_VARS, templateVarsOf } from './checks.js';
import type { RawIssue } from './issues.js';
import { ROUTER_METRICS } from './schema/analysis.js';
import type { Manifest } from './schema/index.js';
import { FULL_COMMIT_ID } from './schema/source.js';

export interface RuleResult {
  errors: RawIssue[];
  warnings: RawIssue[];
  checks: CheckTemplate[];
  smokeTests: CheckTemplate[];
  /**
   * Errors that refuse fetching the source (deploy, validate) but not the verbs that work with
   * what a host already has: a rollback at 3 a.m. must not wait on a source key.
   */
  fetchErrors: RawIssue[];
}

type Push = (path: (string | number)[], message: string) => void;

/** Second stage of validation: rules that involve more than one key. */
export function crossFieldRules(m: Manifest): RuleResult {
  const errors: RawIssue[] = [];
  const warnings: RawIssue[] = [];
  const err: Push = (path, message) => errors.push({ path, message });
  const warn: Push = (path, message) => warnings.push({ path, message });

  const fetchErrors: RawIssue[] = [];
  sourceRules(m, err);
  plainTransportRule(m.source, (path, message) => fetchErrors.push({ path, message }));
  serviceRules(m, err, warn);
  deploymentRules(m, err);
  runtimeRules(m, err, warn);
  hostRules(m, err);
  analysisRules(m, err, warn);
  const checks = checkRules(m.health_checks, ['health_checks'], m, err);
  const smokeTests = checkRules(m.deployment.blue_green?.smoke_tests ?? [], ['deployment', 'blue_green', 'smoke_tests'], m, err);
  return { errors, warnings, checks, smokeTests, fetchErrors };
}

function sourceRules(m: Manifest, err: Push) {
  const s = m.source;
  if (s.branch && s.ref) err(['source', 'ref'], 'give either `branch` or `ref`, not both');
  if (s.sha256 && s.type !== 'archive') err(['source', 'sha256'], 'only applies to `type: archive`');
  if (s.strip_components && s.type !== 'archive') err(['source', 'strip_components'], 'only applies to `type: archive`');
  if ((s.branch || s.ref) && s.type !== 'git') err(['source', s.branch ? 'branch' : 'ref'], 'only applies to `type: git`');
  if (s.type === 'local') {
    if (s.path && s.url) err(['source', 'url'], 'give either `path` or `url` for a local source, not both');
    const where = s.path ?? s.url;
    if (where && /^[a-z]+:\/\//i.test(where)) err(['source', s.path ? 'path' : 'url'], `"${where}" is a URL: use \`type: archive\` or \`type: git\``);
  }
  if (s.type === 'archive') {
    const where = s.url ?? s.path;
    if (!where) err(['source'], 'an archive source needs `url` (a path or an http(s) URL)');
    else if (!/\.(tar\.gz|tgz|tar\.bz2|tbz2?|tar|zip)([?#].*)?$/i.test(where))
      err(['source', s.url ? 'url' : 'path'], `cannot tell the archive format of "${where}" (expected .tar.gz, .tgz, .tar.bz2, .tar or .zip)`);
  }
  if (s.type === 'git' && !s.url) err(['source'], 'a git source needs `url`');
}

/**
 * Code fetched over plain http:// or git:// could be swapped by anyone on the path, and its hooks
 * run on every host: refused unless pinned (sha256 of an archive, a full commit id for git) or
 * accepted with `insecure: true`.
 */
function plainTransportRule(s: Manifest['source'], err: Push) {
  if (s.insecure || s.type === 'local') return;
  const key = s.url !== undefined ? 'url' : 'path';
  const scheme = /^(http|git):\/\//i.exec(s[key] ?? '')?.[1]?.toLowerCase();
  if (!scheme) return;
  const risk = `plain ${scheme}:// is neither private nor authenticated, and hooks in the release run on every host`;
  if (s.type === 'archive' && !s.sha256) err(['source', key], `${risk}: give \`sha256\` of the archive, use https://, or set \`source.insecure: true\``);
  if (s.type === 'git' && !FULL_COMMIT_ID.test(s.branch ?? s.ref ?? ''))
    err(['source', key], `${risk}: give a full commit id as \`branch\`/\`ref\` (git checks every object against it), use https:// or ssh, or set \`source.insecure: true\``);
}

function serviceRules(m: Manifest, err: Push, warn: Push) {
  const s = m.service;
  if (s.manager === 'script' && !s.restart_command) err(['service', 'restart_command'], 'is required with `manager: script`');
  if (s.manager === 'signal' && !s.pid_file) err(['service', 'pid_file'], 'is required with `manager: signal`');
  if (s.manager === 'process' && !s.command) err(['service', 'command'], 'is required with `manager: process`');
  if (s.command && s.manager !== 'process' && s.manager !== 'docker') err(['service', 'command'], `is used by the process manager only (manager is "${s.manager}")`);
  if (s.instances > 1 && s.manager !== 'process' && s.manager !== 'docker') err(['service', 'instances'], `more than one instance needs \`manager: process\` (manager is "${s.manager}")`);
  if (s.restart_command && s.manager !== 'script') err(['service', 'restart_command'], `is used by \`manager: script\` only (manager is "${s.manager}")`);
  if (s.pid_file && s.manager !== 'signal') err(['service', 'pid_file'], `is used by \`manager: signal\` only (manager is "${s.manager}")`);
  if (s.reload_command && s.manager === 'none') warn(['service', 'reload_command'], 'runs after a restart, but `manager: none` restarts nothing; it runs after the switch');
}

function deploymentRules(m: Manifest, err: Push) {
  const d = m.deployment;
  if (d.app_root && !d.app_root.startsWith('/') && !d.app_root.startsWith('~/') && d.app_root !== '~')
    err(['deployment', 'app_root'], `must be an absolute path or start with ~/ (got "${d.app_root}")`);
  const c = d.canary;
  if (c) {
    const seed = ['initial_percent', 'step_percent', 'step_interval', 'final_percent'].filter((k) => c[k as keyof typeof c] !== undefined);
    if (seed.length && c.stages) err(['deployment', 'canary', 'stages'], `use either \`stages\` or the seed form (${seed.join(', ')}), not both`);
    if (c.initial_percent !== undefined && c.final_percent !== undefined && c.initial_percent > c.final_percent)
      err(['deployment', 'canary', 'initial_percent'], 'must not be above final_percent');
    if (c.step_percent === 0 && (c.initial_percent ?? 5) < (c.final_percent ?? 100)) err(['deployment', 'canary', 'step_percent'], 'must be above 0, or the canary never reaches final_percent');
    if (c.instances !== undefined && c.instances > m.service.instances)
      err(['deployment', 'canary', 'instances'], `must not be above service.instances (${m.service.instances}): the canary is scaled up to it before promotion`);
    const hr = c.header_route;
    if (hr && (hr.header === undefined) === (hr.cookie === undefined)) err(['deployment', 'canary', 'header_route'], 'give either `header` or `cookie`');
    let last = -1;
    c.stages?.forEach((st, i) => {
      if ('weight' in st) {
        if (st.weight < last) err(['deployment', 'canary', 'stages', i, 'weight'], `weights must not go down (${st.weight} after ${last})`);
        last = st.weight;
      }
    });
  }
  for (const [key, list] of [['shared_dirs', d.shared_dirs], ['shared_files', d.shared_files]] as const) {
    const seen = new Set<string>();
    list.forEach((p, i) => {
      const norm = p.replace(/\/+$/, '');
      if (seen.has(norm)) err(['deployment', key, i], `"${p}" is listed twice`);
      seen.add(norm);
    });
  }
  for (const f of d.shared_files) if (d.shared_dirs.some((dir) => f === dir)) err(['deployment', 'shared_files'], `"${f}" is also in shared_dirs`);
}

/** The embedded runtime's settings must fit together. */
function runtimeRules(m: Manifest, err: Push, warn: Push) {
  const { strategy } = m.deployment;
  const s = m.service;
  const r = m.router;
  if (r.type === 'embedded') {
    if (r.listen === undefined) err(['router', 'listen'], 'is required with `type: embedded`: the port the router serves the app on');
    if (s.manager !== 'process') err(['router', 'type'], `an embedded router sends traffic to the instances of \`service.manager: process\`; manager is "${s.manager}"`);
  } else if (r.type === 'none') {
    for (const key of ['listen', 'health_path', 'metrics_listen'] as const) if (r[key] !== undefined) err(['router', key], 'is used by `type: embedded` only (router type is "none")');
  } else {
    // nginx, haproxy: the user's proxy listens where its own configuration says
    if (r.listen !== undefined) err(['router', 'listen'], `is used by \`type: embedded\` only: ${r.type} listens where its own configuration says`);
    if (r[r.type] === undefined) err(['router', r.type], `is required with \`type: ${r.type}\`: ${r.type === 'nginx' ? 'config_file (the file Deployer owns, included by nginx.conf)' : 'admin_socket and config_file'}`);
    if (s.manager !== 'process') err(['router', 'type'], `${r.type} is given the instances of \`service.manager: process\` as its servers; manager is "${s.manager}"`);
  }
  for (const key of ['nginx', 'haproxy'] as const) if (r[key] !== undefined && r.type !== key) err(['router', key], `is used by \`type: ${key}\` only (router type is "${r.type}")`);
  // nginx matches a header by $http_<name> and a cookie by $cookie_<name>: only these characters reach it
  const hr = m.deployment.canary?.header_route;
  if (r.type === 'nginx' && hr?.header !== undefined && !/^[A-Za-z0-9-]+$/.test(hr.header)) err(['deployment', 'canary', 'header_route', 'header'], 'nginx matches header names of letters, digits and - only (router.type is "nginx")');
  if (r.type === 'nginx' && hr?.cookie !== undefined && !/^[A-Za-z0-9_]+$/.test(hr.cookie)) err(['deployment', 'canary', 'header_route', 'cookie'], 'nginx matches cookie names of letters, digits and _ only (router.type is "nginx")');
  if (strategy === 'blue-green' && s.instances > 100) err(['service', 'instances'], 'at most 100 with blue-green (each slot takes a range of 100 ports from base_port)');
  if (strategy === 'rolling') {
    const roll = m.deployment.rolling;
    if (roll && roll.max_unavailable === 0) err(['deployment', 'rolling', 'max_unavailable'], 'must be at least 1: instances are updated in place, so each one is out of service while it restarts');
    if (roll && roll.max_failures === 0) err(['deployment', 'rolling', 'max_failures'], 'must be at least 1 (the number of failed instances that stops the deploy)');
    if (s.instances === 1 && s.manager === 'process') warn(['service', 'instances'], 'a rolling deploy of one instance takes it out of service while it restarts (the router holds requests meanwhile); blue-green avoids that');
  }
  if (m.deployment.blue_green && strategy !== 'blue-green') warn(['deployment', 'blue_green'], `is used by strategy blue-green only (strategy is "${strategy}")`);
  if (m.deployment.rolling && strategy !== 'rolling') warn(['deployment', 'rolling'], `is used by strategy rolling only (strategy is "${strategy}")`);
}

/** Each analysis metric must name where its value comes from and how it is judged. */
function analysisRules(m: Manifest, err: Push, warn: Push) {
  const a = m.analysis;
  const canary = m.deployment.strategy === 'canary';
  // (a canary section beside another strategy is no mistake: `deploy --strategy canary` uses it)
  if (canary && (!a || a.metrics.length === 0)) warn(['analysis', 'metrics'], 'none: the canary walks its stages on time alone, and nothing can abort it but `deployer abort`');
  a?.metrics.forEach((x, i) => {
    const at = (key?: string): (string | number)[] => ['analysis', 'metrics', i, ...(key ? [key] : [])];
    const needs: Record<string, string[]> = { router: [], prometheus: ['address', 'query'], http: ['url', 'path'], command: ['command'] };
    for (const key of needs[x.provider] ?? []) if (x[key as keyof typeof x] === undefined) err(at(key), `is required with provider ${x.provider}`);
    for (const key of ['address', 'query', 'url', 'path', 'headers', 'command'] as const) {
      if (x[key] !== undefined && !(needs[x.provider] ?? []).includes(key) && !(key === 'headers' && x.provider === 'http')) err(at(key), `is not used by provider ${x.provider}`);
    }
    if (x.provider === 'router' && !(ROUTER_METRICS as readonly string[]).includes(x.name))
      err(at('name'), `"${x.name}" is not a router metric (known: ${ROUTER_METRICS.join(', ')})`);
    if (x.address !== undefined && !/^https?:\/\//.test(x.address)) err(at('address'), 'expected an http(s) URL such as http://127.0.0.1:9090');
    if (x.url !== undefined && !/^https?:\/\//.test(x.url)) err(at('url'), 'expected an http(s) URL');
    if (x.judge === 'mann-whitney') {
      if (x.provider !== 'router' || !x.name.startsWith('latency_')) err(at('judge'), 'mann-whitney compares latency samples: it needs provider router and a latency_* metric');
      for (const key of ['max', 'min', 'max_ratio_to_baseline'] as const) {
        if (x[key] !== undefined) err(at(key), 'is not used with judge: mann-whitney (add a second metric with judge: threshold for it)');
      }
    } else if (x.max === undefined && x.min === undefined && x.max_ratio_to_baseline === undefined) {
      err(at(), 'has nothing to judge: give max, min or max_ratio_to_baseline (or judge: mann-whitney)');
    }
    if (x.max !== undefined && x.min !== undefined && x.min > x.max) err(at('min'), `must not be above max (${x.max})`);
  });
}

function hostRules(m: Manifest, err: Push) {
  const seen = new Map<string, number>();
  m.hosts.forEach((h, i) => {
    const key = typeof h === 'string' ? h : `${h.user ?? ''}@${h.host}:${h.port ?? ''}`;
    if (seen.has(key)) err(['hosts', i], `duplicate of hosts[${seen.get(key)}]`);
    seen.set(key, i);
  });
}

function checkRules(list: Manifest['health_checks'], base: (string | number)[], m: Manifest, err: Push): CheckTemplate[] {
  const out: CheckTemplate[] = [];
  list.forEach((cfg, i) => {
    const t = normalizeCheck(cfg);
    if (typeof t === 'string') return err([...base, i], t);
    for (const v of templateVarsOf(t)) {
      if (!(TEMPLATE_VARS as readonly string[]).includes(v)) err([...base, i], `unknown template {${v}} (known: ${TEMPLATE_VARS.map((x) => `{${x}}`).join(', ')})`);
      else if (v === 'port' && m.service.base_port === undefined && m.service.manager !== 'process')
        err([...base, i], 'uses {port}, but service.base_port is not set');
    }
    out.push(t);
  });
  return out;
}
