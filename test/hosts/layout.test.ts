import { describe, expect, it } from 'vitest';
import { TEST_HOSTS, TEST_HOSTS_OPTIONS } from '../support/ssh-hosts.js';
import { hostAt, hostsFiles, hostsKnobs, knownHostsLines, LAUNCH_SCRIPT, launchArgv, maxHosts, missingPackages, ownName, sshConfigText, sshdConfigText } from './layout.mjs';

const k = hostsKnobs({ state: '/tmp/dt-x', subnet: '10.99.0', bridge: 'dtx0', nsPrefix: 'dt-x' });

describe('the namespaced hosts layout', () => {
  it('fills in the defaults and places host i at <subnet>.<base + i>', () => {
    expect(k).toEqual({ state: '/tmp/dt-x', subnet: '10.99.0', base: 10, bridge: 'dtx0', nsPrefix: 'dt-x', namePrefix: 'host', privateDirs: ['/srv', '/root'] });
    expect(hostAt(k, 3)).toEqual({
      i: 3,
      name: 'h3',
      hostname: 'host3',
      addr: '10.99.0.13',
      ns: 'dt-x3',
      veth: 'vdt-x3',
      dir: '/tmp/dt-x/h3',
      srv: '/tmp/dt-x/h3/fs/srv',
      sshdConfig: '/tmp/dt-x/h3/sshd_config',
      hostKey: '/tmp/dt-x/h3/ssh_host_ed25519_key',
      log: '/tmp/dt-x/h3/sshd.log',
    });
    expect(hostsFiles(k)).toMatchObject({ configFile: '/tmp/dt-x/ssh_config', list: '/tmp/dt-x/hosts.list', upMark: '/tmp/dt-x/.up', cmDir: '/tmp/dt-x/cm' });
    expect(hostAt(hostsKnobs({ ...k, base: 200 }), 54).addr).toBe('10.99.0.254');
  });

  it('has no host outside the /24: the last address is .254', () => {
    expect(maxHosts(k)).toBe(244);
    expect(() => hostAt(k, 245)).toThrow('no host 245: hosts are 1..244');
    expect(() => hostAt(k, 0)).toThrow('no host 0');
  });

  it('refuses knobs that would break a command or an interface name', () => {
    expect(() => hostsKnobs({ ...k, state: 'tmp/x' })).toThrow(/state must be an absolute path/);
    for (const state of ['/', '/tmp', '/tmp/', '/tmp/../etc', '/tmp/./x']) expect(() => hostsKnobs({ ...k, state })).toThrow(/state must be an absolute path at least two levels deep/);
    expect(() => hostsKnobs({ ...k, subnet: '10.99.0.0' })).toThrow(/subnet must be a \/24 prefix/);
    expect(() => hostsKnobs({ ...k, subnet: '10.300.0' })).toThrow(/subnet/);
    expect(() => hostsKnobs({ ...k, bridge: 'a-bridge-name-too-long' })).toThrow(/bridge must be a short interface name/);
    expect(() => hostsKnobs({ ...k, nsPrefix: 'prefix-too-long' })).toThrow(/nsPrefix must be a short name/);
    expect(() => hostsKnobs({ ...k, nsPrefix: 'a b' })).toThrow(/nsPrefix/);
    expect(() => hostsKnobs({ ...k, privateDirs: ['srv'] })).toThrow(/privateDirs must be absolute paths/);
    expect(() => hostsKnobs({ ...k, privateDirs: ['/srv/../etc'] })).toThrow(/privateDirs/);
    expect(() => hostsKnobs({ ...k, base: 254 })).toThrow(/base must be 1..253/);
  });

  it("takes the suite's knobs as they are: its hosts and their veths have valid names", () => {
    const t = hostsKnobs(TEST_HOSTS_OPTIONS);
    expect(hostAt(t, TEST_HOSTS)).toMatchObject({ addr: '10.250.0.16', ns: 'dt-t6', veth: 'vdt-t6', srv: '/tmp/dt-hosts/h6/fs/srv' });
  });

  it('writes a client config with every host by alias, key login, pinned host keys and ControlMaster', () => {
    expect(sshConfigText(k, 2)).toBe(
      [
        'Host 10.99.0.* h*',
        '  User root',
        '  IdentityFile /tmp/dt-x/id_ed25519',
        '  IdentitiesOnly yes',
        '  UserKnownHostsFile /tmp/dt-x/known_hosts',
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '  ConnectTimeout 5',
        '  LogLevel ERROR',
        '  ControlMaster auto',
        '  ControlPath /tmp/dt-x/cm/%C',
        '  ControlPersist 60',
        'Host h1',
        '  HostName 10.99.0.11',
        '  HostKeyAlias h1',
        'Host h2',
        '  HostName 10.99.0.12',
        '  HostKeyAlias h2',
        '',
      ].join('\n'),
    );
  });

  it("pins a host's key under its address and its alias", () => {
    expect(knownHostsLines(hostAt(k, 1), 'ssh-ed25519 AAAAkey host1\n')).toBe('10.99.0.11 ssh-ed25519 AAAAkey\nh1 ssh-ed25519 AAAAkey\n');
  });

  it("writes each sshd's config: its own address, host key, the set's authorized keys, root by key only", () => {
    const text = sshdConfigText(k, hostAt(k, 2));
    for (const line of [
      'Port 22',
      'ListenAddress 10.99.0.12',
      'HostKey /tmp/dt-x/h2/ssh_host_ed25519_key',
      'AuthorizedKeysFile /tmp/dt-x/authorized_keys',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'PidFile none',
    ]) {
      expect(text.split('\n')).toContain(line);
    }
  });

  it('launches a host as argv, its values passed as arguments to one fixed script', () => {
    expect(launchArgv(k, hostAt(k, 4))).toEqual([
      'ip', 'netns', 'exec', 'dt-x4',
      'unshare', '--uts', '--mount', '--pid', '--fork', '--mount-proc', '--propagation', 'private',
      'sh', '-c', LAUNCH_SCRIPT, 'sh', 'host4', '/tmp/dt-x/h4/sshd_config',
      '/tmp/dt-x/h4/fs/srv', '/srv', '/tmp/dt-x/h4/fs/root', '/root',
    ]);
    expect(LAUNCH_SCRIPT).not.toMatch(/dt-x|host4|\/srv/);
  });

  it('asks apt-get only for what is missing, each package once', () => {
    expect(missingPackages(() => true)).toEqual([]);
    expect(missingPackages((what) => what !== 'unshare' && what !== 'ssh-keygen' && what !== 'ssh')).toEqual(['openssh-client', 'util-linux']);
    expect(missingPackages(() => false)).toEqual(['openssh-server', 'openssh-client', 'rsync', 'iproute2', 'util-linux']);
  });

  it("knows its own namespaces and veths by prefix and number, and nobody else's", () => {
    expect(ownName('dt-t', 'dt-t12')).toBe(true);
    expect(ownName('vdt-t', 'vdt-t3')).toBe(true);
    expect(ownName('dt-t', 'dt-t')).toBe(false);
    expect(ownName('dt-t', 'dt-tx1')).toBe(false);
    expect(ownName('dt-t', 'dt-b1')).toBe(false);
  });
});
