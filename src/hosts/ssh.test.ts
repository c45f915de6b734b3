import { describe, expect, it } from 'vitest';
import { HostUnreachable } from '../errors.js';
import { sshFailure } from './ssh.js';

// stderr of OpenSSH 9.2p1 as it really prints it (CR LF line ends), captured against a local sshd
const CHANGED_WARNING = [
  '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
  '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
  '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
  'IT IS POSSIBLE THAT SOMEONE IS DOING SOMETHING NASTY!',
  'Someone could be eavesdropping on you right now (man-in-the-middle attack)!',
  'It is also possible that a host key has just been changed.',
  'The fingerprint for the ED25519 key sent by the remote host is\nSHA256:hbAXe3yY3++vv7hInSruskMelKlylm/F+9qiz+Pi3HE.',
  'Please contact your system administrator.',
  'Add correct host key in /tmp/dt-hosts/known_hosts to get rid of this message.',
  'Offending ED25519 key in /tmp/dt-hosts/known_hosts:1',
  '  remove with:',
  '  ssh-keygen -f "/tmp/dt-hosts/known_hosts" -R "h1"',
];
const crlf = (lines: string[]) => `${lines.join('\r\n')}\r\n`;
const CHANGED_STRICT = crlf([...CHANGED_WARNING, 'Host key for h1 has changed and you have requested strict checking.', 'Host key verification failed.']);
// StrictHostKeyChecking=no: ssh goes on with public-key auth only
const CHANGED_NOT_STRICT = crlf([
  ...CHANGED_WARNING,
  'Password authentication is disabled to avoid man-in-the-middle attacks.',
  'Keyboard-interactive authentication is disabled to avoid man-in-the-middle attacks.',
]);
const UNKNOWN = 'No ED25519 host key is known for h1 and you have requested strict checking.\r\nHost key verification failed.\r\n';
const DENIED = 'root@10.250.0.11: Permission denied (publickey).\r\n';
const REFUSED = 'ssh: connect to host 10.250.0.13 port 22: Connection refused\r\n';
const TIMED_OUT = 'ssh: connect to host 10.255.255.1 port 22: Connection timed out\r\n';
const BANNER = 'Connection timed out during banner exchange\r\nConnection to 10.255.255.1 port 22 timed out\r\n';
const UNRESOLVED = 'ssh: Could not resolve hostname nonexistent.invalid: Name or service not known\r\n';
const CLOSED = 'Connection to 10.250.0.12 closed by remote host.\r\n';

const fail = (stderr: string, code: number | null = 255) => sshFailure('web1', { code, stderr });

describe('sshFailure', () => {
  it('a changed host key is refused, with how to check it', () => {
    const e = fail(CHANGED_STRICT)!;
    expect(e).toBeInstanceOf(HostUnreachable);
    expect(e.host).toBe('web1');
    expect(e.message).toBe('web1: its host key has changed since it was recorded in known_hosts; refusing to connect');
    expect(e.hint).toBe('if the host was rebuilt, check its new key out of band, then `ssh-keygen -R <host>` and connect once by hand');
  });

  it('a changed host key is refused even where StrictHostKeyChecking=no let ssh go on (any exit code)', () => {
    expect(fail(CHANGED_NOT_STRICT + DENIED)?.message).toBe('web1: its host key has changed since it was recorded in known_hosts; refusing to connect');
    // the key was accepted and the command ran: its result cannot be trusted either
    expect(fail(CHANGED_NOT_STRICT, 0)?.message).toBe('web1: its host key has changed since it was recorded in known_hosts; refusing to connect');
  });

  it('an unknown host key', () => {
    const e = fail(UNKNOWN)!;
    expect(e.message).toBe('web1: its host key is not in known_hosts (or does not match); refusing to connect');
    expect(e.hint).toBe('check the key out of band and add it to known_hosts (ssh-keyscan, then compare fingerprints)');
    expect(fail('Host key verification failed.\r\n')?.message).toBe('web1: its host key is not in known_hosts (or does not match); refusing to connect');
  });

  it('authentication failure quotes ssh', () => {
    const e = fail(DENIED)!;
    expect(e.message).toBe('web1: authentication failed (root@10.250.0.11: Permission denied (publickey).)');
    expect(e.hint).toBe("check ssh.user / the host's user, the key (ssh.identity_file) and the agent");
  });

  it('connection refused', () => {
    const e = fail(REFUSED)!;
    expect(e.message).toBe('web1: connection refused: is sshd running on it?');
    expect(e.hint).toBeUndefined();
  });

  it('timed out and unresolvable: cannot be reached, with ssh last line', () => {
    expect(fail(TIMED_OUT)?.message).toBe('web1: cannot be reached (ssh: connect to host 10.255.255.1 port 22: Connection timed out)');
    expect(fail(BANNER)?.message).toBe('web1: cannot be reached (Connection to 10.255.255.1 port 22 timed out)');
    expect(fail(UNRESOLVED)?.message).toBe('web1: cannot be reached (ssh: Could not resolve hostname nonexistent.invalid: Name or service not known)');
  });

  it('a dropped connection', () => {
    expect(fail(CLOSED)?.message).toBe('web1: the connection dropped (Connection to 10.250.0.12 closed by remote host.)');
  });

  it('another 255 is ssh last line; an empty stderr is a dropped connection (the host vanished)', () => {
    expect(fail('kex_exchange_identification: read: Connection reset by peer\r\n')?.message).toBe('web1: the connection dropped (kex_exchange_identification: read: Connection reset by peer)');
    expect(fail('some\nunknown trouble\n')?.message).toBe('web1: unknown trouble');
    expect(fail('')?.message).toBe('web1: the connection dropped (ssh exited 255 without a word)');
  });

  it("an exit that is not 255 is the remote command's, not ssh's: null, whatever stderr says", () => {
    expect(fail('', 0)).toBeNull();
    expect(fail('rm: cannot remove x: Permission denied\n', 1)).toBeNull();
    expect(fail(REFUSED, 1)).toBeNull();
    expect(fail(UNKNOWN, 2)).toBeNull();
    expect(fail('', null)).toBeNull();
  });

  it('every message starts with the host name', () => {
    for (const stderr of [CHANGED_STRICT, UNKNOWN, DENIED, REFUSED, TIMED_OUT, UNRESOLVED, CLOSED, 'x'])
      expect(sshFailure('deploy@h2:2222', { code: 255, stderr })?.message.startsWith('deploy@h2:2222: ')).toBe(true);
  });
});
