import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rejection, until } from '../checks/test-support.js';
import { CommandFailed } from '../errors.js';
import { LocalTransport } from '../hosts/local.js';
import type { ProcessIdentity, Transport } from '../hosts/transport.js';
import { serviceSchema } from '../manifest/schema/service.js';
import type { RunOptions } from '../util/process.js';
import type { ActivationContext } from './manager.js';
import { SignalManager } from './signal.js';

/** LocalTransport that records the argv of every exec (and can be told a pid is alive). */
class RecordingTransport implements Transport {
  readonly name = 'local';
  private readonly inner = new LocalTransport();
  readonly fs = this.inner.fs;
  readonly execs: { argv: string[]; cwd?: string }[] = [];
  claimAlive = false;
  hostname = () => this.inner.hostname();
  user = () => this.inner.user();
  exec: Transport['exec'] = (argv: readonly string[], opts?: RunOptions) => {
    this.execs.push({ argv: [...argv], ...(opts?.cwd ? { cwd: opts.cwd } : {}) });
    return this.inner.exec(argv, opts);
  };
  processAlive = async (id: ProcessIdentity) => this.claimAlive || this.inner.processAlive(id);
  selfIdentity = () => this.inner.selfIdentity();
}

/** Counts SIGHUP and SIGUSR1 and prints each as it arrives. */
const CHILD = `
const n = { SIGHUP: 0, SIGUSR1: 0 };
for (const s of Object.keys(n)) process.on(s, () => { n[s]++; console.log(s + ' ' + n[s]); });
console.log('ready');
setInterval(() => {}, 1000);
`;

let dir: string;
let releaseDir: string;
let child: ChildProcess | undefined;
let output = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'deployer-signal-'));
  releaseDir = join(dir, 'releases', '20240101_000000');
  mkdirSync(releaseDir, { recursive: true });
  output = '';
});
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Starts the counting child and waits until its handlers are installed. */
async function startChild(): Promise<number> {
  child = spawn(process.execPath, ['-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  expect(await until(() => output.includes('ready'), 10_000)).toBe(true);
  return child.pid!;
}

async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.once('exit', r));
  return c.pid!;
}

const manager = (cfg: Record<string, unknown>) => new SignalManager(serviceSchema.parse({ manager: 'signal', pid_file: 'app.pid', ...cfg }));
const ctx = (t: Transport, env: NodeJS.ProcessEnv = { PATH: process.env.PATH }): ActivationContext => ({ transport: t, appRoot: dir, releaseDir, releaseId: '20240101_000000', env });

describe('SignalManager', () => {
  it('sends the signal to the pid in the pid file with kill -s', async () => {
    const pid = await startChild();
    writeFileSync(join(dir, 'app.pid'), `${pid}\n`);
    const t = new RecordingTransport();
    await manager({}).restart(ctx(t));
    expect(t.execs.map((e) => e.argv)).toEqual([['kill', '-s', 'HUP', String(pid)]]);
    expect(await until(() => output.includes('SIGHUP 1'), 10_000)).toBe(true);
    expect(output).not.toContain('SIGUSR1');
  });

  it('sends the configured signal, from an absolute pid file', async () => {
    const pid = await startChild();
    const pidFile = join(dir, 'run', 'elsewhere.pid');
    mkdirSync(join(dir, 'run'));
    writeFileSync(pidFile, String(pid));
    const t = new RecordingTransport();
    const m = manager({ signal: 'USR1', pid_file: pidFile });
    expect(m.pidFile('/ignored')).toBe(pidFile);
    await m.restart(ctx(t));
    expect(t.execs.map((e) => e.argv)).toEqual([['kill', '-s', 'USR1', String(pid)]]);
    expect(await until(() => output.includes('SIGUSR1 1'), 10_000)).toBe(true);
    expect(output).not.toContain('SIGHUP');
  });

  it('runs the reload command after the signal, in the release with the given environment', async () => {
    const pid = await startChild();
    writeFileSync(join(dir, 'app.pid'), String(pid));
    const t = new RecordingTransport();
    await manager({ reload_command: 'echo "$RELOAD_MARK" > reloaded' }).restart(ctx(t, { PATH: process.env.PATH, RELOAD_MARK: 'yes' }));
    expect(t.execs).toEqual([{ argv: ['kill', '-s', 'HUP', String(pid)] }, { argv: ['sh', '-c', 'echo "$RELOAD_MARK" > reloaded'], cwd: releaseDir }]);
    expect(readFileSync(join(releaseDir, 'reloaded'), 'utf8')).toBe('yes\n');
  });

  it('resolves a relative pid file under app_root', () => {
    expect(manager({ pid_file: 'shared/app.pid' }).pidFile('/srv/app')).toBe('/srv/app/shared/app.pid');
  });

  it('fails clearly when the pid file is missing', async () => {
    const t = new RecordingTransport();
    const e = await rejection(manager({}).restart(ctx(t)), CommandFailed);
    expect(e.message).toBe(`pid file ${join(dir, 'app.pid')} does not exist: nothing to send HUP to`);
    expect(t.execs).toEqual([]);
  });

  it('fails clearly when the pid file holds no usable pid', async () => {
    const t = new RecordingTransport();
    for (const [text, shown] of [
      ['not-a-pid\n', 'not-a-pid'],
      ['', ''],
      ['12abc', '12abc'],
      ['1', '1'],
      ['-5', '-5'],
      ['3.5', '3.5'],
    ]) {
      writeFileSync(join(dir, 'app.pid'), text!);
      const e = await rejection(manager({}).restart(ctx(t)), CommandFailed);
      expect(e.message).toBe(`pid file ${join(dir, 'app.pid')} does not hold a pid (found ${JSON.stringify(shown)})`);
    }
    expect(t.execs).toEqual([]);
  });

  it('fails clearly when the process is not running', async () => {
    const pid = await deadPid();
    writeFileSync(join(dir, 'app.pid'), String(pid));
    const t = new RecordingTransport();
    const e = await rejection(manager({}).restart(ctx(t)), CommandFailed);
    expect(e.message).toBe(`process ${pid} from ${join(dir, 'app.pid')} is not running`);
    expect(t.execs).toEqual([]);
  });

  it('reports kill itself failing, with its stderr', async () => {
    const pid = await deadPid();
    writeFileSync(join(dir, 'app.pid'), String(pid));
    const t = new RecordingTransport();
    t.claimAlive = true; // the process goes away between the check and the kill
    const e = await rejection(manager({}).restart(ctx(t)), CommandFailed);
    expect(t.execs.map((x) => x.argv)).toEqual([['kill', '-s', 'HUP', String(pid)]]);
    expect(e.message).toMatch(new RegExp(`^kill -s HUP ${pid} exited with status 1: .*${pid}.*No such process`));
  });
});
