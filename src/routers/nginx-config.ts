// The file Deployer owns for router.type nginx: pure rendering of the desired state (pools,
// targets, weights, targets out of rotation, routes) into nginx syntax, and parsing that state
// back from the file, so each deploy step (a new process) starts from what nginx last accepted.
import { RouterError } from '../errors.js';
import { describeRoute } from './preview.js';
import type { PoolTargets, RouteRule, RouteTarget } from './types.js';
import { serverWeights } from './weights.js';

/** Everything Deployer decided for this upstream; embedded in the file as one comment line. */
export interface NginxState {
  pools: PoolTargets[];
  /** percent of new traffic per pool */
  weights: Record<string, number>;
  /** target ids out of rotation: drained, or new in a pool with traffic until enabled */
  down: string[];
  routes: RouteRule[];
}

export const emptyNginxState = (): NginxState => ({ pools: [], weights: {}, down: [], routes: [] });

/** Largest server weight written: 0.1% steps stay exact (1:999). */
export const MAX_SERVER_WEIGHT = 1000;
const STATE_PREFIX = '# deployer-state: ';
const KEEPALIVE = 32;

/** The upstream of one pool, which routes send to: `<upstream>__<pool>`. */
export const poolUpstream = (upstream: string, pool: string): string => `${upstream}__${pool}`;
/** The variable the user's server block proxies to: `$deployer_<upstream>` (. and - become _). */
export const routeVariable = (upstream: string): string => `deployer_${upstream.replace(/[^A-Za-z0-9_]/g, '_')}`;
/** The log_format the user's access_log line names. */
export const logFormatName = (upstream: string): string => `deployer_${upstream}`;

/** Fields of the JSON access log line (see nginx-access-log.ts). */
export const LOG_FIELDS: Record<string, string> = {
  msec: '$msec',
  status: '$status',
  request_time: '$request_time',
  upstream_addr: '$upstream_addr',
  upstream_status: '$upstream_status',
  upstream_response_time: '$upstream_response_time',
  upstream_header_time: '$upstream_header_time',
};

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const HOST = /^(?:[A-Za-z0-9.-]{1,253}|\[?[0-9A-Fa-f:.]{2,45}\]?)$/;
const HEADER = /^[A-Za-z0-9-]{1,128}$/;
// nginx variable names: $cookie_<name> cannot hold - or .
const COOKIE = /^[A-Za-z0-9_]{1,128}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/;

/** Throws a RouterError for anything that could not be written as plain nginx tokens. */
export function checkState(s: NginxState): void {
  for (const p of s.pools) {
    if (!SAFE_NAME.test(p.name)) throw new RouterError('router.nginx', `pool name ${JSON.stringify(p.name)} cannot name an nginx upstream (letters, digits, _ . - only)`);
    for (const t of p.targets) {
      if (!HOST.test(t.host)) throw new RouterError('router.nginx', `target ${JSON.stringify(t.id)}: host ${JSON.stringify(t.host)} is not a host name or IP address`);
      if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535) throw new RouterError('router.nginx', `target ${JSON.stringify(t.id)}: port ${t.port} is not a port`);
      if (CONTROL.test(t.id)) throw new RouterError('router.nginx', `target id ${JSON.stringify(t.id)} holds control characters`);
    }
  }
  for (const r of s.routes) {
    if (r.header !== undefined && !HEADER.test(r.header)) throw new RouterError('router.nginx', `route header ${JSON.stringify(r.header)}: nginx matches header names of letters, digits and - only`);
    if (r.cookie !== undefined && !COOKIE.test(r.cookie)) throw new RouterError('router.nginx', `route cookie ${JSON.stringify(r.cookie)}: nginx matches cookie names of letters, digits and _ only ($cookie_<name>)`);
    if ((r.header === undefined) === (r.cookie === undefined)) throw new RouterError('router.nginx', `a route needs exactly one of header or cookie (pool ${JSON.stringify(r.pool)})`);
    if (r.value !== undefined && (r.value === '' || CONTROL.test(r.value) || r.value.length > 1024)) throw new RouterError('router.nginx', `route value ${JSON.stringify(r.value)}: expected 1-1024 printable characters`);
    if (!SAFE_NAME.test(r.pool)) throw new RouterError('router.nginx', `route pool ${JSON.stringify(r.pool)} cannot name an nginx upstream`);
  }
}

/** `host:port` as nginx writes it in upstream_addr (IPv6 in brackets). */
export const serverAddress = (t: Pick<RouteTarget, 'host' | 'port'>): string => `${t.host.includes(':') && !t.host.startsWith('[') ? `[${t.host}]` : t.host}:${t.port}`;
/** A comment tail: ids are the strategy's (`blue-0`), kept on one line. */
const note = (s: string): string => s.replace(/[\r\n]/g, ' ');
/** A map key matched literally: the leading \ stops nginx reading it as a regex or a keyword; then quoted. */
const literalKey = (v: string): string => `"${`\\${v}`.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
const pct = (n: number): string => `${Math.round(n * 100) / 100}%`;

/** Per server: `weight=N` or `down`, for the main upstream (what setWeights writes). */
export function serverLines(s: NginxState): { target: RouteTarget; pool: string; directive: string }[] {
  const down = new Set(s.down);
  const enabled = s.pools.map((p) => ({ name: p.name, targets: p.targets.filter((t) => !down.has(t.id)) }));
  const w = serverWeights(enabled, s.weights, MAX_SERVER_WEIGHT);
  return s.pools.flatMap((p) =>
    p.targets.map((t) => {
      const n = down.has(t.id) ? 0 : (w.get(t.id) ?? 0);
      return { target: t, pool: p.name, directive: `server ${serverAddress(t)}${n > 0 ? ` weight=${n}` : ' down'};` };
    }),
  );
}

/** A pool routes can go to: declared, with a target in rotation. */
function routable(s: NginxState, pool: string): boolean {
  const down = new Set(s.down);
  return s.pools.some((p) => p.name === pool && p.targets.some((t) => !down.has(t.id)));
}

function upstreamBlock(name: string, lines: string[]): string[] {
  // nginx refuses an upstream with no server: a placeholder nobody listens on, down, so nginx answers 502 at once
  const body = lines.length > 0 ? lines : ['server 127.0.0.1:1 down;  # no target: nginx answers 502 at once'];
  return [`upstream ${name} {`, ...body.map((l) => `    ${l}`), `    keepalive ${KEEPALIVE};`, '}'];
}

function routeMaps(s: NginxState, upstream: string): string[] {
  const v = routeVariable(upstream);
  const active = s.routes.filter((r) => routable(s, r.pool));
  const out: string[] = [];
  for (const r of s.routes.filter((x) => !active.includes(x))) out.push(`# route ${describeRoute(r)} ignored: pool ${r.pool} has no target in rotation`);
  if (active.length === 0) return [...out, `map "" $${v} {`, `    default ${upstream};`, '}'];
  active.forEach((r, i) => {
    const result = i === 0 ? v : `${v}_route${i}`;
    const fallback = i + 1 < active.length ? `$${v}_route${i + 1}` : upstream;
    const source = r.header !== undefined ? `$http_${r.header.toLowerCase().replace(/-/g, '_')}` : `$cookie_${r.cookie!}`;
    const to = poolUpstream(upstream, r.pool);
    out.push(`# route ${describeRoute(r)}`, `map ${source} $${result} {`);
    if (r.value === undefined) out.push(`    default ${to};`, `    "" ${fallback};`);
    else out.push(`    default ${fallback};`, `    ${literalKey(r.value)} ${to};`);
    out.push('}');
  });
  return out;
}


/** The whole file for `state`. */
export function renderNginxConfig(s: NginxState, upstream: string, app: string): string {
  checkState(s);
  const fields = Object.entries(LOG_FIELDS).map(([k, val]) => `"${k}":"${val}"`).join(',');
  const weights = s.pools.map((p) => `${p.name} ${pct(s.weights[p.name] ?? 0)}`).join(', ') || 'no pools';
  const lines = [
    `# Written by Deployer for app ${note(app)}: it rewrites this file on every change, do not edit it.`,
    `# nginx.conf includes it inside http {}; the server block proxies to http://$${routeVariable(upstream)} (routes and weights) or http://${upstream} (weights only).`,
    `${STATE_PREFIX}${JSON.stringify({ v: 1, ...s })}`,
    '',
    `log_format ${logFormatName(upstream)} escape=json '{${fields}}';`,
    '',
    `# weights: ${weights}`,
    ...upstreamBlock(
      upstream,
      serverLines(s).map((l) => `${l.directive}  # ${note(l.pool)} ${note(l.target.id)}`),
    ),
  ];
  const down = new Set(s.down);
  for (const p of s.pools) {
    lines.push('', ...upstreamBlock(poolUpstream(upstream, p.name), p.targets.map((t) => `server ${serverAddress(t)}${down.has(t.id) ? ' down' : ''};  # ${note(t.id)}`)));
  }
  lines.push('', ...routeMaps(s, upstream), '');
  return lines.join('\n');
}

/** The state embedded in a file Deployer wrote; a RouterError naming router.nginx.config_file otherwise. */
export function parseNginxState(text: string, file: string): NginxState {
  const line = text.split('\n').find((l) => l.startsWith(STATE_PREFIX));
  const bad = (why: string) =>
    new RouterError('router.nginx.config_file', `${file} ${why}; Deployer owns this file: move it away (or remove it) and deploy again to rewrite it`);
  if (line === undefined) throw bad('has no "# deployer-state:" line: it was not written by Deployer or was edited by hand');
  let raw: unknown;
  try {
    raw = JSON.parse(line.slice(STATE_PREFIX.length));
  } catch {
    throw bad('has a "# deployer-state:" line that is not valid JSON');
  }
  if (!isState(raw)) throw bad('has a "# deployer-state:" line Deployer cannot read (edited by hand, or from another version)');
  const s: NginxState = { pools: raw.pools, weights: raw.weights, down: raw.down, routes: raw.routes };
  try {
    checkState(s);
  } catch (e) {
    throw bad(`holds a state Deployer cannot write back (${(e as Error).message})`);
  }
  return s;
}

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const optStr = (x: unknown) => x === undefined || typeof x === 'string';

function isState(x: unknown): x is NginxState & { v: 1 } {
  if (!isObj(x) || x.v !== 1 || !Array.isArray(x.pools) || !isObj(x.weights) || !Array.isArray(x.down) || !Array.isArray(x.routes)) return false;
  const pools = x.pools.every(
    (p) =>
      isObj(p) &&
      typeof p.name === 'string' &&
      Array.isArray(p.targets) &&
      p.targets.every((t) => isObj(t) && typeof t.id === 'string' && typeof t.host === 'string' && typeof t.port === 'number' && optStr(t.release)),
  );
  const weights = Object.values(x.weights).every((w) => typeof w === 'number' && w >= 0 && w <= 100);
  const routes = x.routes.every((r) => isObj(r) && typeof r.pool === 'string' && optStr(r.header) && optStr(r.cookie) && optStr(r.value));
  return pools && weights && routes && x.down.every((d) => typeof d === 'string');
}
