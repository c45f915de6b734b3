import { describe, expect, it } from 'vitest';
import { shellCommand, signalCommand } from './commands.js';

describe('command builders', () => {
  it('shellCommand runs the line with sh -c, untouched', () => {
    expect(shellCommand('systemctl reload nginx')).toEqual(['sh', '-c', 'systemctl reload nginx']);
    expect(shellCommand(`echo "$HOME" && kill $(cat pid); echo 'a b'`)).toEqual(['sh', '-c', `echo "$HOME" && kill $(cat pid); echo 'a b'`]);
  });

  it('signalCommand is kill -s SIGNAL PID', () => {
    expect(signalCommand('HUP', 1234)).toEqual(['kill', '-s', 'HUP', '1234']);
    expect(signalCommand('USR2', 42)).toEqual(['kill', '-s', 'USR2', '42']);
  });
});
