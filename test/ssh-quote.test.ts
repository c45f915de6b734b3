import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { shellJoin, shellQuote } from '../src/hosts/shell-quote.js';
import { seededRandom } from '../src/util/seeded-random.js';
import { HOSTS_STATE, sshRun, testHosts } from './support/ssh-hosts.js';

/**
 * shellQuote/shellJoin against the real remote shell of a test host (root's login shell over
 * OpenSSH, which gets the command as one string): whatever the arguments, `printf '%s\0' <args>`
 * run there must print back exactly those arguments, and nothing in them may run as a command.
 */

describe('shellQuote / shellJoin output', () => {
  it('leaves plain words as they are', () => {
    expect(shellQuote('abc')).toBe('abc');
    expect(shellQuote('/srv/app/releases/2024-01-01_v1.2')).toBe('/srv/app/releases/2024-01-01_v1.2');
    expect(shellQuote('--keep=3')).toBe('--keep=3');
    // a first word A=b would be an assignment, a reserved word syntax: both are quoted
    expect(shellQuote('FOO=bar')).toBe("'FOO=bar'");
    expect(shellJoin(['if', 'time'])).toBe("'if' 'time'");
    expect(shellJoin(['rsync', '-az', 'a/', 'h1:/srv/x/'])).toBe('rsync -az a/ h1:/srv/x/');
  });

  it('quotes the empty string, so it stays an argument', () => {
    expect(shellQuote('')).toBe("''");
    expect(shellJoin(['printf', '%s\\0', ''])).toBe("printf '%s\\0' ''");
  });

  it("writes a single quote as '\\''", () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote("'")).toBe("''\\'''");
  });

  it('single-quotes anything the shell would read as syntax', () => {
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote('$(id)')).toBe("'$(id)'");
    expect(shellQuote('~')).toBe("'~'");
    expect(shellQuote('*')).toBe("'*'");
    expect(shellQuote('a\nb')).toBe("'a\nb'");
  });

  it('refuses a NUL byte and an empty command', () => {
    expect(() => shellQuote('a\0b')).toThrow(/NUL/);
    expect(() => shellJoin(['printf', '\0'])).toThrow(/NUL/);
    expect(() => shellJoin([])).toThrow(/empty command/);
  });
});

const SEED = Number(process.env.SSH_QUOTE_SEED ?? 0x5eed);
/** random argv arrays, on top of the systematic ones (every byte alone, every nasty piece alone) */
const RANDOM_ARGVS = 600;
/** one remote command stays well under Linux's 128 KiB limit for one argument (`sh -c <string>`) */
const MAX_BATCH_BYTES = 64_000;
const MAX_BATCH_ARGVS = 150;

describe('shellJoin against the remote shell of h1', () => {
  const tag = randomBytes(6).toString('hex');
  // a file any injected command would create: /tmp is shared with the host, /srv is its own
  const canaries = [`/tmp/pwned-${tag}`, `/srv/pwned-${tag}`];
  const canariesOnMachine = () => {
    const srv = testHosts().hosts[0]!.srv;
    return [canaries[0]!, join(srv, `pwned-${tag}`)];
  };
  const removeCanaries = () => {
    for (const f of canariesOnMachine()) rmSync(f, { force: true });
  };
  afterAll(() => {
    if (existsSync(`${HOSTS_STATE}/.up`)) removeCanaries();
  });

  const pieces = (c: string) => [
    `$(touch ${c})`,
    `\`touch ${c}\``,
    `; touch ${c}`,
    `;touch ${c};`,
    `&& touch ${c}`,
    `|| touch ${c}`,
    `| touch ${c}`,
    `& touch ${c}`,
    `\ntouch ${c}\n`,
    `\r\ntouch ${c}`,
    `>${c}`,
    `>> ${c}`,
    `'; touch ${c}; '`,
    `"; touch ${c}; "`,
    `\\'; touch ${c} #`,
    `'$(touch ${c})'`,
    `"$(touch ${c})"`,
    `$'\\x3b' touch ${c}`,
    `\${IFS}touch\${IFS}${c}`,
    `<(touch ${c})`,
    `{touch,${c}}`,
  ];
  const nasty = [
    '$(id)',
    '`id`',
    '${HOME}',
    '$HOME',
    '$0',
    '$@',
    '$*',
    '$$',
    '$?',
    '$!',
    '$#',
    "$'\\n'",
    '$"x"',
    ';',
    '|',
    '&',
    '&&',
    '||',
    ';;',
    '\n',
    '\r',
    '\t',
    ' ',
    '  ',
    "'",
    '"',
    "''",
    '""',
    "'\\''",
    '\\',
    '\\\\',
    '\\n',
    '\\0',
    '*',
    '?',
    '[',
    ']',
    '[a-z]*',
    '/*',
    '.*',
    '**',
    '-',
    '--',
    '-n',
    '-e',
    '-v',
    '--help',
    '-%s',
    '%s',
    '%b',
    '%%',
    '%d',
    '~',
    '~root',
    '~/x',
    '#',
    ' #',
    '!',
    '!!',
    '!$',
    '{a,b}',
    '{1..3}',
    '(',
    ')',
    '<',
    '>',
    '2>&1',
    '=',
    'A=b',
    'é',
    '日本語',
    '🚀',
    '\u200b',
    '\u2028',
    '\ufeff',
    '\u00a0',
    '\u0085',
    '\x7f',
    '\x1b[31m',
  ];

  it('prints back every argument exactly, for every byte and the nasty pieces', async () => {
    const hosts = testHosts();
    const random = seededRandom(SEED);
    const int = (n: number) => Math.floor(random() * n);
    const pick = <T>(a: readonly T[]): T => a[int(a.length)]!;
    const fuzzPieces = pieces(canaries[0]!).concat(pieces(canaries[1]!));
    const unicode = ['é', 'ß', 'Ω', '日', '本', '🚀', '\u{1f600}', '\u200b', '\u2028', '\ufeff', '\u0301', '\u{10ffff}', '\ud7ff', '\ue000'];
    const char = (): string => {
      const r = random();
      if (r < 0.55) return String.fromCharCode(1 + int(255)); // every byte 1-255 (as UTF-8)
      if (r < 0.7) return pick(unicode);
      if (r < 0.85) return pick(nasty);
      if (r < 0.9) return pick(fuzzPieces);
      return pick(['a', 'b', 'x', '0', '9', '-', '/', '.', '_', '=']);
    };
    const arg = (): string => {
      const r = random();
      if (r < 0.06) return '';
      if (r < 0.14) return pick(['deploy', '-n', '--', 'a=b', '/srv/app', 'x.y', 'user@host:/p', '%s', '%%']);
      if (r < 0.26) return pick(nasty);
      if (r < 0.34) return pick(fuzzPieces);
      if (r < 0.37) {
        // very long: 2-20k characters of everything
        const n = 2000 + int(18_000);
        let s = '';
        while (s.length < n) s += char();
        return s;
      }
      let s = '';
      for (let n = int(40); n > 0; n--) s += char();
      return s;
    };

    const argvs: string[][] = [];
    for (let b = 1; b < 256; b++) argvs.push([String.fromCharCode(b)], [`a${String.fromCharCode(b)}b`, String.fromCharCode(b, b)]);
    for (const p of [...nasty, ...fuzzPieces]) argvs.push([p], [p, p]);
    argvs.push([''], ['', ''], ['', 'x', ''], [Array.from({ length: 255 }, (_, i) => String.fromCharCode(i + 1)).join('')]);
    for (let i = 0; i < RANDOM_ARGVS; i++) argvs.push(Array.from({ length: 1 + int(8) }, arg));

    // many argvs per ssh call: `printf '%s\0' <argv>; printf '\036end <i>\036\0'; ...`, the end
    // marker written by hand (not by the quoter), so a quoting slip shows as a misplaced argument
    const end = (i: number) => `\x1eend ${i}\x1e`;
    const batches: number[][] = [];
    let cur: number[] = [];
    let bytes = 0;
    argvs.forEach((argv, i) => {
      const size = Buffer.byteLength(shellJoin(['printf', '%s\\0', ...argv])) + 40;
      if (cur.length > 0 && (bytes + size > MAX_BATCH_BYTES || cur.length >= MAX_BATCH_ARGVS)) {
        batches.push(cur);
        cur = [];
        bytes = 0;
      }
      cur.push(i);
      bytes += size;
    });
    if (cur.length) batches.push(cur);

    const started = Date.now();
    for (const batch of batches) {
      const command = batch.map((i) => `${shellJoin(['printf', '%s\\0', ...argvs[i]!])}; printf '\\036end ${i}\\036\\0'`).join('; ');
      expect(Buffer.byteLength(command)).toBeLessThan(120_000);
      const r = await sshRun(hosts.hosts[0]!, command);
      const where = `seed ${SEED}, argvs ${batch[0]}..${batch.at(-1)}`;
      expect(r.stderr, where).toBe('');
      expect(r.code, where).toBe(0);
      const fields = r.stdout.split('\0');
      expect(fields.pop(), `${where}: output ends with a NUL`).toBe('');
      for (const i of batch) {
        const argv = argvs[i]!;
        const got = fields.splice(0, argv.length);
        expect(got, `seed ${SEED}, argv #${i}: ${JSON.stringify(argv).slice(0, 2000)}`).toEqual(argv);
        expect(fields.shift(), `seed ${SEED}: end marker after argv #${i}`).toBe(end(i));
      }
      expect(fields, `${where}: nothing after the last argv`).toEqual([]);
    }
    console.log(`ssh-quote: ${argvs.length} argvs in ${batches.length} ssh calls, ${Date.now() - started} ms (seed ${SEED})`);

    // no argument ran as a command on the host
    expect(canariesOnMachine().filter((f) => existsSync(f))).toEqual([]);
  });

  it('never runs an injected command on the host', async () => {
    const hosts = testHosts();
    const probe = await sshRun(hosts.hosts[0]!, `touch ${shellQuote(canaries[1]!)} && rm ${shellQuote(canaries[1]!)} && echo ok`);
    expect(probe, 'the canary path is writable on the host').toMatchObject({ code: 0, stdout: 'ok\n' });

    for (const c of canaries) {
      const argv = pieces(c);
      const r = await sshRun(hosts.hosts[0]!, shellJoin(['printf', '%s\\0', ...argv]));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.split('\0').slice(0, -1)).toEqual(argv);
      // every piece also as the argument of other commands, and in one argument all together
      const more = await sshRun(hosts.hosts[0]!, `${shellJoin(['echo', ...argv])} >/dev/null; ${shellJoin(['ls', '-d', '--', argv.join('')])} 2>/dev/null; true`);
      expect(more.code, more.stderr).toBe(0);
    }
    expect(canariesOnMachine().filter((f) => existsSync(f))).toEqual([]);
    // the check would see a canary: the host's /srv is where canariesOnMachine looks
    const made = await sshRun(hosts.hosts[0]!, `touch ${shellQuote(canaries[1]!)}`);
    expect(made.code, made.stderr).toBe(0);
    expect(canariesOnMachine().filter((f) => existsSync(f))).toEqual([canariesOnMachine()[1]]);
    removeCanaries();
  });
});
