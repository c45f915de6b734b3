import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.js';
import type { HostEntry } from '../manifest/schema/hosts.js';
import { isFleet, parseHost, selectHosts } from './targets.js';

const usage = (f: () => unknown): UsageError => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
};

describe('parseHost', () => {
  it('`local`', () => {
    expect(parseHost('local')).toEqual({ name: 'local', local: true, host: 'local', roles: [] });
  });

  it('a bare alias, user@host, host:port, user@host:port', () => {
    expect(parseHost('h1')).toEqual({ name: 'h1', local: false, host: 'h1', roles: [] });
    expect(parseHost('deploy@web1')).toEqual({ name: 'deploy@web1', local: false, host: 'web1', user: 'deploy', roles: [] });
    expect(parseHost('web1:2222')).toEqual({ name: 'web1:2222', local: false, host: 'web1', port: 2222, roles: [] });
    expect(parseHost('deploy@10.0.0.5:2222')).toEqual({ name: 'deploy@10.0.0.5:2222', local: false, host: '10.0.0.5', user: 'deploy', port: 2222, roles: [] });
  });

  it('ssh:// URLs, with and without user and port', () => {
    expect(parseHost('ssh://deploy@web1:2222')).toEqual({ name: 'ssh://deploy@web1:2222', local: false, host: 'web1', user: 'deploy', port: 2222, roles: [] });
    expect(parseHost('ssh://web1')).toEqual({ name: 'ssh://web1', local: false, host: 'web1', roles: [] });
    expect(parseHost('ssh://deploy@web1')).toEqual({ name: 'ssh://deploy@web1', local: false, host: 'web1', user: 'deploy', roles: [] });
  });

  it('IPv6 in brackets, with and without a port; a bare v6 address is a host', () => {
    expect(parseHost('[::1]:22')).toEqual({ name: '[::1]:22', local: false, host: '::1', port: 22, roles: [] });
    expect(parseHost('[2001:db8::1]')).toEqual({ name: '[2001:db8::1]', local: false, host: '2001:db8::1', roles: [] });
    expect(parseHost('ssh://root@[fe80::2]:2200')).toEqual({ name: 'ssh://root@[fe80::2]:2200', local: false, host: 'fe80::2', user: 'root', port: 2200, roles: [] });
    expect(parseHost('::1')).toEqual({ name: '::1', local: false, host: '::1', roles: [] });
  });

  it('the object form: roles, app_root, port, user; its name is the host (with its port when given)', () => {
    const entry: HostEntry = { host: 'web1', user: 'deploy', port: 2222, roles: ['web', 'api'], app_root: '/srv/shop' };
    // two entries for one address on two ports are two hosts
    expect(parseHost(entry)).toEqual({ name: 'web1:2222', local: false, host: 'web1', user: 'deploy', port: 2222, roles: ['web', 'api'], appRoot: '/srv/shop' });
    expect(parseHost({ host: 'db1', roles: [] })).toEqual({ name: 'db1', local: false, host: 'db1', roles: [] });
    expect(parseHost({ host: 'local', roles: ['web'] })).toEqual({ name: 'local', local: true, host: 'local', roles: ['web'] });
  });

  it('ports out of range or not numbers', () => {
    expect(usage(() => parseHost('web1:0')).message).toBe('host web1:0: port 0 is out of range');
    expect(usage(() => parseHost('web1:65536')).message).toBe('host web1:65536: port 65536 is out of range');
    expect(usage(() => parseHost('ssh://web1:99999')).message).toBe('host ssh://web1:99999: port 99999 is out of range');
    expect(usage(() => parseHost('[::1]:0')).message).toBe('host [::1]:0: port 0 is out of range');
    expect(usage(() => parseHost('ssh://web1:ssh')).message).toBe('host ssh://web1:ssh: expected ssh://user@host:port');
    expect(usage(() => parseHost('ssh://web1:')).message).toBe('host ssh://web1:: expected ssh://user@host:port');
    expect(parseHost('web1:65535').port).toBe(65535);
  });

  it('a host or user starting with `-` (an ssh option) and empty parts are refused', () => {
    for (const bad of ['-oProxyCommand=x', 'deploy@-oProxyCommand=x', 'ssh://-p', '-x@web1', 'ssh://deploy@', '@web1', 'ssh://', 'deploy@']) {
      expect(usage(() => parseHost(bad)).message).toMatch(new RegExp(`^host ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    }
    expect(usage(() => parseHost('-oProxyCommand=x')).message).toBe('host -oProxyCommand=x: not a host name');
  });
  // a leading `-` would be an option to ssh or rsync (rsync's destination has no `--`)
  it('the object form refuses a host or user starting with `-` too', () => {
    expect(usage(() => parseHost({ host: '-oFoo', roles: [] })).message).toBe('host -oFoo: not a host name');
    expect(usage(() => parseHost({ host: 'web1', user: '-oX', roles: [] })).message).toMatch(/^host web1: /);
  });
});

describe('selectHosts', () => {
  const entries: HostEntry[] = [
    { host: 'web1', roles: ['web'] },
    { host: 'web2', roles: ['web'] },
    { host: 'db1', roles: ['db'] },
    'deploy@worker1:2222',
  ];
  const names = (f: Parameters<typeof selectHosts>[1]) => selectHosts(entries, f).map((t) => t.name);

  it('no filter: every host, in manifest order', () => {
    expect(names({})).toEqual(['web1', 'web2', 'db1', 'deploy@worker1:2222']);
    expect(selectHosts(entries).map((t) => t.name)).toEqual(['web1', 'web2', 'db1', 'deploy@worker1:2222']);
  });

  it('--hosts by name as written or by the bare host; manifest order kept', () => {
    expect(names({ hosts: ['db1', 'web1'] })).toEqual(['web1', 'db1']);
    expect(names({ hosts: ['worker1'] })).toEqual(['deploy@worker1:2222']);
    expect(names({ hosts: ['deploy@worker1:2222'] })).toEqual(['deploy@worker1:2222']);
  });

  it('--roles: any of the roles', () => {
    expect(names({ roles: ['web'] })).toEqual(['web1', 'web2']);
    expect(names({ roles: ['db', 'web'] })).toEqual(['web1', 'web2', 'db1']);
  });

  it('--hosts and --roles: both must match', () => {
    expect(names({ hosts: ['web2', 'db1'], roles: ['web'] })).toEqual(['web2']);
    expect(usage(() => names({ hosts: ['db1'], roles: ['web'] })).message).toBe('--hosts/--roles: no host matches both');
  });

  it('unknown names are named, with the known hosts', () => {
    expect(usage(() => names({ hosts: ['web3'] })).message).toBe("--hosts: web3 is not in the manifest's hosts (web1, web2, db1, deploy@worker1:2222)");
    expect(usage(() => names({ hosts: ['web1', 'web3', 'x'] })).message).toBe("--hosts: web3, x are not in the manifest's hosts (web1, web2, db1, deploy@worker1:2222)");
  });

  it('unknown roles are named, with the known roles', () => {
    expect(usage(() => names({ roles: ['cache'] })).message).toBe('--roles: no host has the role cache (roles: web, db)');
    expect(usage(() => selectHosts(['h1', 'h2'], { roles: ['web'] })).message).toBe('--roles: no host has the role web');
  });

  it('a host listed twice is refused, however it is written', () => {
    expect(usage(() => selectHosts(['h1', 'h2', 'h1'])).message).toBe('hosts: h1 is listed twice');
    expect(usage(() => selectHosts([{ host: 'web1', roles: [] }, { host: 'web1', roles: ['web'] }])).message).toBe('hosts: web1 is listed twice');
  });

  it('empty filter lists are no filter', () => {
    expect(names({ hosts: [], roles: [] })).toEqual(['web1', 'web2', 'db1', 'deploy@worker1:2222']);
  });
});

describe('isFleet', () => {
  it('one local host is not a fleet; a remote host or several hosts are', () => {
    expect(isFleet([parseHost('local')])).toBe(false);
    expect(isFleet([parseHost('h1')])).toBe(true);
    expect(isFleet([parseHost('local'), parseHost({ host: 'local', roles: [] })])).toBe(true);
    expect(isFleet([parseHost('h1'), parseHost('h2')])).toBe(true);
  });
});
