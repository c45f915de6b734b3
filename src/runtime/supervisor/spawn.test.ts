import { describe, expect, it } from 'vitest';
import { shellLine } from './spawn.js';

describe('shellLine', () => {
  it('execs a simple command so the app is the supervised process', () => {
    expect(shellLine('node server.js')).toBe('exec node server.js');
    expect(shellLine('  ./bin/web --port=3000  ')).toBe('exec ./bin/web --port=3000');
  });

  it('leaves scripts, quoting, expansions and an explicit exec alone', () => {
    for (const c of ['npm run migrate && node server.js', 'node a.js; node b.js', 'node server.js > out.log', 'node "$APP"', "echo 'x'", 'exec node server.js', 'FOO=$(cat f) node s.js', 'PORT=1 node s.js', 'cd app', 'ulimit -n 4096', 'a | b', 'node s.js &', 'a\nb']) {
      expect(shellLine(c)).toBe(c);
    }
  });
});
