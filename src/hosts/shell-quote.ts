/**
 * The one way Deployer builds a command line for a remote shell (OpenSSH sends the remote
 * command as one string, which the login shell parses). Every argument is single-quoted, with
 * each `'` written as `'\''`, so no byte reaches the shell as syntax: not `$`, `` ` ``, `;`, a
 * newline, a glob or a leading `-`. Fuzzed against a real remote shell in test/ssh-quote.test.ts.
 */
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'case', 'esac', 'for', 'while', 'until', 'do', 'done', 'in', 'function', 'select', 'time', 'coproc']);

export function shellQuote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument cannot hold a NUL byte');
  // plain words stay readable in logs and `--dry-run`; everything else is quoted (`=` too: a
  // first word `A=b` would be an assignment; and a reserved word would be syntax)
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(arg) && !RESERVED.has(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** argv as one shell command line: each argument quoted, joined by spaces. */
export function shellJoin(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('an empty command');
  return argv.map(shellQuote).join(' ');
}
