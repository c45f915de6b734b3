/**
 * `${VAR}` and `${VAR:-default}` in manifest strings, filled from the environment at load time.
 * `$${` writes a literal `${`. Strings that a shell runs later (hook commands and the like) are
 * left alone: the shell expands them with the hook's environment.
 */

export interface InterpolationError {
  path: (string | number)[];
  message: string;
}

const EXPR = /\$\$\{|\$\{([^}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Paths (with `*` for any key or index) whose strings are shell commands, not interpolated. */
const SHELL_PATHS = [
  'hooks.*',
  'hooks.*.*',
  'service.command',
  'service.restart_command',
  'service.reload_command',
  'router.nginx.reload_command',
  'health_checks.*.command',
  'deployment.blue_green.smoke_tests.*.command',
  'analysis.metrics.*.command',
].map((p) => p.split('.'));

export function isShellPath(path: (string | number)[]): boolean {
  const p = path[0] === 'environments' ? path.slice(2) : path;
  // hooks.timeout and hooks.dir are settings, not commands: they are interpolated
  if (p[0] === 'hooks' && (p[1] === 'timeout' || p[1] === 'dir')) return false;
  return SHELL_PATHS.some((pattern) => pattern.length === p.length && pattern.every((seg, i) => seg === '*' || seg === String(p[i])));
}

export function interpolateString(
  s: string,
  env: NodeJS.ProcessEnv,
  onError: (message: string) => void,
  onSecret: (value: string, name: string) => void = () => {},
): string {
  return s.replace(EXPR, (whole, body: string | undefined) => {
    if (whole === '$${') return '${';
    const expr = body ?? '';
    const m = /^([^:-]*)(?::-|-)?([\s\S]*)$/.exec(expr)!;
    const name = m[1] ?? '';
    if (!NAME.test(name)) {
      onError(`"\${${expr}}" is not a valid variable reference (expected \${NAME} or \${NAME:-default})`);
      return whole;
    }
    const hasDefault = expr.length > name.length;
    const emptyCounts = expr.startsWith(`${name}:-`);
    const value = env[name];
    if (value !== undefined && !(emptyCounts && value === '')) {
      onSecret(value, name);
      return value;
    }
    if (hasDefault) return m[2] ?? '';
    onError(`environment variable ${name} is not set (write \${${name}:-default} to give a default)`);
    return whole;
  });
}

/**
 * Variables that say where and who, not secrets: hiding their values (`/home/deploy`) would
 * mask every path under them in the output and protect nothing.
 */
const NOT_SECRET = new Set(['HOME', 'USER', 'LOGNAME', 'PWD', 'PATH', 'SHELL', 'HOSTNAME', 'TMPDIR']);

/** The app's name and version are shown by design (the name is a directory, the version in every line). */
function namesTheApp(path: (string | number)[]): boolean {
  const p = path[0] === 'environments' ? path.slice(2) : path;
  return p.length === 1 && (p[0] === 'name' || p[0] === 'version');
}

/**
 * Interpolates every string in a plain JS value (from YAML). A string that was exactly one
 * `${...}` and now reads as a whole number or true/false becomes that number or boolean, so
 * `base_port: ${PORT:-3000}` is a port; `typed` collects those paths (a key that wants a string
 * gets the text back, see load.ts). `secrets` collects every value taken from the environment
 * (a `${VAR:-default}` default is written in the manifest, so it is not one; nor are HOME, USER
 * and the like): wherever such a value ends up (a check URL, an error message), it is hidden in
 * what Deployer prints and writes.
 */
export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
  errors: InterpolationError[],
  path: (string | number)[] = [],
  typed: (string | number)[][] = [],
  secrets: Set<string> = new Set(),
): unknown {
  if (typeof value === 'string') {
    if (!value.includes('${') || isShellPath(path)) return value;
    const out = interpolateString(value, env, (message) => errors.push({ path, message }), (v, name) => {
      if (!NOT_SECRET.has(name) && !namesTheApp(path)) secrets.add(v);
    });
    if (/^\$\{[^}]*\}$/.test(value)) {
      if (/^(0|-?[1-9]\d{0,15})$/.test(out)) {
        typed.push(path);
        return Number(out);
      }
      if (out === 'true' || out === 'false') {
        typed.push(path);
        return out === 'true';
      }
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, errors, [...path, i], typed, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, errors, [...path, k], typed, secrets)]));
  }
  return value;
}
