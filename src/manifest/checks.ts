import { parseHostPort, parseProcessTarget } from '../checks/target.js';
import type { CheckPolicy, CheckSpec } from '../checks/types.js';
import { describeCheck } from '../checks/wait.js';
import type { CheckConfig } from './schema/checks.js';

/** A health check from the manifest, with `{port}`-style templates still unfilled. */
export interface CheckTemplate {
  label: string;
  spec: CheckSpec;
  policy: CheckPolicy;
}

export const TEMPLATE_VARS = ['port', 'host', 'release', 'pool'] as const;
export type TemplateVars = Partial<Record<(typeof TEMPLATE_VARS)[number], string | number>>;

const DEFAULT_POLICY: CheckPolicy = { timeoutMs: 30_000, intervalMs: 2_000, attemptTimeoutMs: 5_000 };

/** Normalises one manifest check (string or object) to a typed template, or returns why it can't. */
export function normalizeCheck(cfg: CheckConfig): CheckTemplate | string {
  if (typeof cfg === 'string') {
    const spec = fromTarget(cfg);
    return spec ?? `"${cfg}" has no known scheme (expected http://, https://, tcp://, pid:// or cmd://)`;
  }
  const policy: CheckPolicy = { timeoutMs: cfg.timeout, intervalMs: cfg.interval, attemptTimeoutMs: cfg.attempt_timeout };
  const statuses = Array.isArray(cfg.expected_status) ? cfg.expected_status : [cfg.expected_status];
  const fromScheme = cfg.url ? fromTarget(cfg.url) : cfg.target ? fromTarget(cfg.target) : undefined;
  const type = cfg.type ?? fromScheme?.spec.type ?? (cfg.command ? 'command' : undefined);
  if (!type) return 'cannot tell the check type: set `type`, or give `url`, `target` or `command`';
  let spec: CheckSpec;
  switch (type) {
    case 'http': {
      const url = cfg.url ?? (cfg.target && /^https?:\/\//.test(cfg.target) ? cfg.target : undefined);
      if (!url) return 'an http check needs `url` (http:// or https://)';
      if (!/^https?:\/\//.test(url)) return `url "${url}" must start with http:// or https://`;
      spec = {
        type: 'http',
        url,
        expectedStatus: statuses,
        method: cfg.method,
        ...(cfg.body_contains !== undefined ? { bodyContains: cfg.body_contains } : {}),
        ...(cfg.headers ? { headers: cfg.headers } : {}),
      };
      break;
    }
    case 'tcp': {
      const target = (cfg.target ?? cfg.url)?.replace(/^tcp:\/\//, '');
      if (!target) return 'a tcp check needs `target` as host:port';
      spec = { type: 'tcp', host: target, port: 0 };
      break;
    }
    case 'process': {
      if (!cfg.target) return 'a process check needs `target`: a pid or name:NAME';
      const p = processSpec(cfg.target);
      if (typeof p === 'string') return p;
      spec = p;
      break;
    }
    case 'command': {
      const command = cfg.command ?? cfg.target?.replace(/^cmd:\/\//, '');
      if (!command) return 'a command check needs `command`';
      spec = { type: 'command', command };
      break;
    }
  }
  return { label: cfg.name ?? describeTemplate(spec), spec, policy };
}

function fromTarget(target: string): CheckTemplate | undefined {
  let spec: CheckSpec;
  if (/^https?:\/\//.test(target)) spec = { type: 'http', url: target, expectedStatus: [200], method: 'GET' };
  else if (target.startsWith('tcp://')) spec = { type: 'tcp', host: target.slice(6), port: 0 };
  else if (target.startsWith('pid://')) {
    const p = processSpec(target);
    if (typeof p === 'string') return undefined;
    spec = p;
  } else if (target.startsWith('cmd://')) spec = { type: 'command', command: target.slice(6) };
  else return undefined;
  return { label: describeTemplate(spec), spec, policy: DEFAULT_POLICY };
}

/** The check's label; a tcp template keeps its `host:port` text until the port is filled in. */
function describeTemplate(spec: CheckSpec): string {
  return spec.type === 'tcp' ? `tcp ${spec.host}` : describeCheck(spec);
}

function processSpec(target: string): CheckSpec | string {
  try {
    return parseProcessTarget(target);
  } catch (e) {
    return (e as Error).message;
  }
}

/** Template variables a check uses: `{port}` etc. */
export function templateVarsOf(t: CheckTemplate): string[] {
  const text = JSON.stringify(t.spec);
  return [...new Set([...text.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]!))];
}

export function fillTemplate(s: string, vars: TemplateVars): string {
  return s.replace(/\{([a-z_]+)\}/g, (whole, name: string) => {
    const v = vars[name as keyof TemplateVars];
    return v === undefined ? whole : String(v);
  });
}

/** The check ready to probe: templates filled, tcp `host:port` split. Throws on a bad tcp target. */
export function resolveCheck(t: CheckTemplate, vars: TemplateVars): CheckTemplate {
  const s = t.spec;
  let spec: CheckSpec;
  switch (s.type) {
    case 'http':
      spec = { ...s, url: fillTemplate(s.url, vars) };
      break;
    case 'tcp': {
      spec = { type: 'tcp', ...parseHostPort(fillTemplate(s.host, vars)) };
      break;
    }
    case 'process':
      spec = s.name !== undefined ? { type: 'process', name: fillTemplate(s.name, vars) } : s;
      break;
    case 'command':
      spec = { ...s, command: fillTemplate(s.command, vars) };
      break;
  }
  return { ...t, label: fillTemplate(t.label, vars), spec };
}
