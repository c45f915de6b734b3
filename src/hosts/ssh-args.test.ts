import { describe, expect, it } from 'vitest';
import { sshSchema, type SshConfig } from '../manifest/schema/hosts.js';
import { rsyncCommand, sshCommand, sshExitMaster, sshOptions, type SshSettings } from './ssh-args.js';
import { parseHost } from './targets.js';

const config = (c: Partial<SshConfig> = {}): SshConfig => ({ ...sshSchema.parse({}), ...c });
const settings = (c: Partial<SshConfig> = {}, persistSeconds?: number): SshSettings => ({
  config: config(c),
  controlDir: '/tmp/dc',
  ...(persistSeconds !== undefined ? { persistSeconds } : {}),
});

/** Deployer's own options, in order, with the schema's defaults (connect_timeout 10s). */
const defaults = (timeout = 10, persist = 60) => [
  '-o', 'BatchMode=yes',
  '-o', `ConnectTimeout=${timeout}`,
  '-o', 'ServerAliveInterval=5',
  '-o', 'ServerAliveCountMax=3',
  '-o', 'ControlMaster=auto',
  '-o', 'ControlPath=/tmp/dc/%C',
  '-o', `ControlPersist=${persist}`,
];

const h1 = parseHost('h1');
const web = parseHost('ssh://deploy@web1:2222');

describe('sshOptions', () => {
  it('a plain alias gets Deployer defaults only: no -p, -l, -i, -J (ssh_config decides)', () => {
    expect(sshOptions(h1, settings())).toEqual(defaults());
  });

  it('user@host:port from the host entry: -p and -l after the defaults', () => {
    expect(sshOptions(web, settings())).toEqual([...defaults(), '-p', '2222', '-l', 'deploy']);
  });

  it('the manifest ssh settings: -F first, options before the defaults (booleans as yes/no), then -p, -l, -i, -J', () => {
    const s = settings({
      config_file: '/etc/deployer/ssh_config',
      options: { StrictHostKeyChecking: true, ForwardAgent: false, ServerAliveInterval: 15, LogLevel: 'ERROR' },
      port: 2200,
      user: 'ops',
      identity_file: '/keys/id_ed25519',
      proxy_jump: 'bastion@jump:22',
    });
    expect(sshOptions(h1, s)).toEqual([
      '-F', '/etc/deployer/ssh_config',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', 'ForwardAgent=no',
      '-o', 'ServerAliveInterval=15',
      '-o', 'LogLevel=ERROR',
      ...defaults(),
      '-p', '2200',
      '-l', 'ops',
      '-i', '/keys/id_ed25519',
      '-J', 'bastion@jump:22',
    ]);
  });

  it("the host's user and port win over ssh.user / ssh.port", () => {
    expect(sshOptions(web, settings({ user: 'ops', port: 2200 }))).toEqual([...defaults(), '-p', '2222', '-l', 'deploy']);
  });

  it('port 22: omitted when it is only the default, given when the host entry says it', () => {
    expect(sshOptions(h1, settings({ port: 22 }))).toEqual(defaults());
    expect(sshOptions(parseHost('[::1]:22'), settings())).toEqual([...defaults(), '-p', '22']);
    expect(sshOptions(parseHost({ host: 'h2', port: 22, roles: [] }), settings())).toEqual([...defaults(), '-p', '22']);
  });

  it('connect_timeout is rounded up to whole seconds, at least 1', () => {
    const timeout = (ms: number) => sshOptions(h1, settings({ connect_timeout: ms }))[3];
    expect([timeout(10_000), timeout(1500), timeout(1000), timeout(1001), timeout(200), timeout(0)]).toEqual([
      'ConnectTimeout=10', 'ConnectTimeout=2', 'ConnectTimeout=1', 'ConnectTimeout=2', 'ConnectTimeout=1', 'ConnectTimeout=1',
    ]);
  });

  it('persistSeconds sets ControlPersist', () => {
    expect(sshOptions(h1, settings({}, 5))).toEqual(defaults(10, 5));
  });
});

describe('sshCommand', () => {
  it('ends with `-- host` and the remote command as ONE argument', () => {
    expect(sshCommand(h1, settings(), ['uname', '-a'])).toEqual(['ssh', ...defaults(), '--', 'h1', 'uname -a']);
    expect(sshCommand(web, settings(), ['true'])).toEqual(['ssh', ...defaults(), '-p', '2222', '-l', 'deploy', '--', 'web1', 'true']);
  });

  it('quotes a hostile path with shellJoin: single-quoted, no expansion', () => {
    const argv = sshCommand(h1, settings(), ['ls', '-la', '/srv/a b/$(x)', "it's;rm -rf ~", 'A=b']);
    expect(argv.slice(-3)).toEqual(['--', 'h1', `ls -la '/srv/a b/$(x)' 'it'\\''s;rm -rf ~' 'A=b'`]);
    expect(argv).toHaveLength(1 + defaults().length + 3);
  });

  it('an IPv6 host is passed bare after --', () => {
    expect(sshCommand(parseHost('[::1]:2222'), settings(), ['true']).slice(-5)).toEqual(['-p', '2222', '--', '::1', 'true']);
  });

  it('an empty remote command is refused', () => {
    expect(() => sshCommand(h1, settings(), [])).toThrow('an empty command');
  });
});

describe('sshExitMaster', () => {
  it('is `ssh <options> -O exit -- host`', () => {
    expect(sshExitMaster(h1, settings())).toEqual(['ssh', ...defaults(), '-O', 'exit', '--', 'h1']);
    expect(sshExitMaster(web, settings({ config_file: '/c' }))).toEqual(['ssh', '-F', '/c', ...defaults(), '-p', '2222', '-l', 'deploy', '-O', 'exit', '--', 'web1']);
  });
});

describe('rsyncCommand', () => {
  /** the --rsh value: ssh and its options through shellJoin (`K=V` words are quoted) */
  const rsh = (extra = '') =>
    `ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=5 -o ServerAliveCountMax=3 -o ControlMaster=auto -o ControlPath=/tmp/dc/%C -o ControlPersist=60${extra}`;

  it('without link-dest: archive, delete, protect-args, the ssh command, trailing slashes on both sides', () => {
    expect(rsyncCommand(h1, settings(), '/stage/app/r1', '/srv/app/incoming/r1', null)).toEqual([
      'rsync', '--archive', '--delete', '--protect-args', '--rsh', rsh(), '/stage/app/r1/', 'h1:/srv/app/incoming/r1/',
    ]);
  });

  it('with link-dest, user and port (in the rsh, not the destination), trailing slashes normalized', () => {
    expect(rsyncCommand(web, settings(), '/stage/app/r2///', '/srv/app/incoming/r2/', '/srv/app/releases/r1')).toEqual([
      'rsync', '--archive', '--delete', '--protect-args', '--link-dest=/srv/app/releases/r1', '--rsh', rsh(' -p 2222 -l deploy'), '/stage/app/r2/', 'web1:/srv/app/incoming/r2/',
    ]);
  });

  it('an IPv6 host is bracketed in the destination', () => {
    const argv = rsyncCommand(parseHost('ssh://deploy@[2001:db8::7]:22'), settings(), '/s', '/srv/x', null);
    expect(argv.at(-1)).toBe('[2001:db8::7]:/srv/x/');
    expect(argv.at(-3)).toBe(rsh(' -p 22 -l deploy'));
  });

  it('a hostile path stays one argument (protect-args keeps it from the remote shell)', () => {
    expect(rsyncCommand(h1, settings(), '/s', '/srv/a b/$(x)', null).at(-1)).toBe('h1:/srv/a b/$(x)/');
  });

  it('the manifest options and -F are part of the rsh too', () => {
    const argv = rsyncCommand(h1, settings({ config_file: '/etc/ssh cfg', options: { Compression: true } }), '/s', '/d', null);
    expect(argv[5]).toBe(`ssh -F '/etc/ssh cfg' -o Compression=yes ${rsh().slice('ssh '.length)}`);
  });

  // rsync splits --rsh itself, not with a shell: it knows '...' (a doubled quote inside gives
  // one) but not backslashes, so shell quoting ('\'') would reach ssh mangled.
  it("an option holding a ' reaches ssh intact through rsync's --rsh splitting", () => {
    const argv = rsyncCommand(h1, settings({ options: { ProxyCommand: "nc -x 'proxy:8080' %h %p" } }), '/s', '/d', null);
    expect(argv[5]).toBe(`ssh -o 'ProxyCommand=nc -x ''proxy:8080'' %h %p' ${rsh().slice('ssh '.length)}`);
  });
});
