import { describe, expect, it } from 'vitest';
import { interpolate, interpolateString, isShellPath, type InterpolationError } from './interpolate.js';

/** interpolateString with the errors it reported. */
function fill(s: string, env: NodeJS.ProcessEnv): { out: string; errors: string[] } {
  const errors: string[] = [];
  const out = interpolateString(s, env, (m) => errors.push(m));
  return { out, errors };
}

describe('interpolateString', () => {
  it('fills ${VAR} from the environment, anywhere in the string', () => {
    expect(fill('${A}', { A: 'x' })).toEqual({ out: 'x', errors: [] });
    expect(fill('a${A}b${B}c', { A: '1', B: '2' })).toEqual({ out: 'a1b2c', errors: [] });
    expect(fill('${A}', { A: '' })).toEqual({ out: '', errors: [] });
  });

  it('uses the default of ${VAR:-default} when unset or empty, and of ${VAR-default} only when unset', () => {
    expect(fill('${A:-d}', {}).out).toBe('d');
    expect(fill('${A:-d}', { A: '' }).out).toBe('d');
    expect(fill('${A:-d}', { A: 'v' }).out).toBe('v');
    expect(fill('${A-d}', {}).out).toBe('d');
    expect(fill('${A-d}', { A: '' }).out).toBe('');
    expect(fill('${A:-}', {})).toEqual({ out: '', errors: [] });
    // the default is everything after the first ":-"
    expect(fill('${A:-a:-b}', {}).out).toBe('a:-b');
    expect(fill('${URL:-http://localhost:8080/x}', {}).out).toBe('http://localhost:8080/x');
  });

  it('writes $${ as a literal ${', () => {
    expect(fill('$${A}', { A: 'x' })).toEqual({ out: '${A}', errors: [] });
    expect(fill('cost: $${PRICE} and ${A}', { A: 'x' }).out).toBe('cost: ${PRICE} and x');
  });

  it('reports an unset variable by name and leaves the text as it was', () => {
    const r = fill('x${MISSING}y', {});
    expect(r.out).toBe('x${MISSING}y');
    expect(r.errors).toEqual(['environment variable MISSING is not set (write ${MISSING:-default} to give a default)']);
  });

  it('reports a reference that is not a variable name', () => {
    for (const bad of ['${1A}', '${}', '${A B}', '${A.B}']) {
      const r = fill(bad, {});
      expect(r.errors, bad).toHaveLength(1);
      expect(r.errors[0]).toContain('is not a valid variable reference');
    }
  });

  it('leaves text without a closed reference alone', () => {
    expect(fill('${A', { A: 'x' })).toEqual({ out: '${A', errors: [] });
    expect(fill('$A and $', { A: 'x' })).toEqual({ out: '$A and $', errors: [] });
  });

  it('does not expand a value a second time', () => {
    expect(fill('${A}', { A: '${B}', B: 'no' }).out).toBe('${B}');
  });
});

describe('interpolate', () => {
  const run = (value: unknown, env: NodeJS.ProcessEnv) => {
    const errors: InterpolationError[] = [];
    return { out: interpolate(value, env, errors), errors };
  };

  it('walks maps and lists and keeps other values', () => {
    const { out, errors } = run({ a: '${A}-x', b: ['${A}', 'y', 3, true, null], c: { d: 'z${A}' } }, { A: 'v' });
    expect(out).toEqual({ a: 'v-x', b: ['v', 'y', 3, true, null], c: { d: 'zv' } });
    expect(errors).toEqual([]);
  });

  it('types a value that is exactly one reference as a whole number or boolean', () => {
    const env = { P: '3000', T: 'true', F: 'false', NEG: '-5', Z: '0', LEAD: '007', BIG: '12345678901234567', DEC: '1.5' };
    const { out } = run({ p: '${P}', t: '${T}', f: '${F}', neg: '${NEG}', z: '${Z}', lead: '${LEAD}', big: '${BIG}', dec: '${DEC}', mixed: 'x${P}', d: '${U:-42}' }, env);
    expect(out).toEqual({ p: 3000, t: true, f: false, neg: -5, z: 0, lead: '007', big: '12345678901234567', dec: '1.5', mixed: 'x3000', d: 42 });
  });

  it('reports errors with the key path', () => {
    const { errors } = run({ a: { b: ['ok', '${NOPE}'] } }, {});
    expect(errors).toEqual([{ path: ['a', 'b', 1], message: 'environment variable NOPE is not set (write ${NOPE:-default} to give a default)' }]);
  });

  it('leaves shell commands alone, in the base and in environment overlays', () => {
    const value = {
      hooks: { build: ['echo ${X}'], pre_deploy: 'echo ${X}', timeout: '${T}' },
      service: { command: 'run ${X}', restart_command: 'r ${X}', reload_command: 'l ${X}', name: '${N}' },
      health_checks: [{ command: 'c ${X}', url: 'http://${H}/' }],
      environments: { prod: { hooks: { build: ['echo ${X}'] }, service: { name: '${N}' } } },
    };
    const { out, errors } = run(value, { T: '5s', N: 'svc', H: 'h' });
    expect(errors).toEqual([]);
    expect(out).toEqual({
      hooks: { build: ['echo ${X}'], pre_deploy: 'echo ${X}', timeout: '5s' },
      service: { command: 'run ${X}', restart_command: 'r ${X}', reload_command: 'l ${X}', name: 'svc' },
      health_checks: [{ command: 'c ${X}', url: 'http://h/' }],
      environments: { prod: { hooks: { build: ['echo ${X}'] }, service: { name: 'svc' } } },
    });
  });

  it('records every value it took from the environment as a secret, not the defaults written in the manifest, nor HOME and USER', () => {
    const secrets = new Set<string>();
    const value = {
      url: 'http://127.0.0.1:{port}/health?token=${TOKEN}',
      port: '${PORT:-3000}',
      user: '${USER_NAME:-deployer}',
      pass: '${PASS-fallback}',
      list: ['a${EMPTY:-dflt}b', '${KEY}'],
      // where and who, not secrets
      root: '${HOME}/apps/${USER}',
      // the app's name and version are shown by design
      name: '${APP_NAME}',
      version: '${APP_VERSION}',
    };
    const env = { TOKEN: 'tok-123456', PASS: 'pass-abcdef', EMPTY: '', KEY: 'key-value-1', UNUSED: 'not-referenced', HOME: '/home/deploy', USER: 'deploy', APP_NAME: 'shop-app', APP_VERSION: '1.2.3-rc1' };
    const errors: InterpolationError[] = [];
    interpolate(value, env, errors, [], [], secrets);
    expect(errors).toEqual([]);
    expect([...secrets].sort()).toEqual(['key-value-1', 'pass-abcdef', 'tok-123456']);
  });
});

describe('isShellPath', () => {
  it('knows which keys are shell commands', () => {
    expect(isShellPath(['hooks', 'build'])).toBe(true);
    expect(isShellPath(['hooks', 'build', 0])).toBe(true);
    expect(isShellPath(['service', 'restart_command'])).toBe(true);
    expect(isShellPath(['router', 'nginx', 'reload_command'])).toBe(true);
    expect(isShellPath(['health_checks', 3, 'command'])).toBe(true);
    expect(isShellPath(['deployment', 'blue_green', 'smoke_tests', 0, 'command'])).toBe(true);
    expect(isShellPath(['analysis', 'metrics', 1, 'command'])).toBe(true);
    expect(isShellPath(['environments', 'prod', 'hooks', 'build', 0])).toBe(true);
  });

  it('treats everything else, including hooks.timeout and hooks.dir, as plain values', () => {
    expect(isShellPath(['hooks', 'timeout'])).toBe(false);
    expect(isShellPath(['hooks', 'dir'])).toBe(false);
    expect(isShellPath(['environments', 'prod', 'hooks', 'timeout'])).toBe(false);
    expect(isShellPath(['service', 'name'])).toBe(false);
    expect(isShellPath(['health_checks', 0, 'url'])).toBe(false);
    expect(isShellPath(['service', 'command', 'extra'])).toBe(false);
    expect(isShellPath([])).toBe(false);
  });
});
