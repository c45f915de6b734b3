import { Command, CommanderError } from 'commander';
import { DeployerError, errorMessage, ExitCode, ManifestError } from '../errors.js';
import { FLEET_VERBS, registerCommands, verbOf } from './commands/index.js';
import { JSON_PRINTED } from './json-printed.js';
import { makeStyle } from './render/style.js';

declare const __DEPLOYER_VERSION__: string;


export async function buildProgram(args: readonly string[]): Promise<Command> {
  const program = new Command('deployer')
    .description('Ship application releases without dropping a request, and take them back when they misbehave.')
    .option('-f, --file <path>', 'manifest file', 'deploy.yml')
    .option('-e, --env <name>', 'environment overlay from `environments:`')
    .option('--json', 'machine-readable result as the last line of stdout; human output goes to stderr')
    .option('--hosts <names>', 'only these hosts of the manifest (comma-separated names)')
    .option('--roles <roles>', 'only the hosts with one of these roles (comma-separated)')
    .option('-v, --verbose', 'show hook output, every check attempt, and stacks of errors')
    // `-V, --version` is answered by the entry before this program loads; `deploy --version V` is the deploy's own option
    .addHelpText('beforeAll', `deployer ${typeof __DEPLOYER_VERSION__ === 'string' ? __DEPLOYER_VERSION__ : 'dev'} (deployer -V prints the version)\n`)
    .showHelpAfterError('(run `deployer --help` for usage)')
    .exitOverride();
  await registerCommands(program, args);
  return program;
}

/** Runs the CLI; returns the exit code. The one place errors become messages and exit codes. */
export async function run(args: string[]): Promise<number> {
  const wantsJson = args.includes('--json');
  const verbose = args.includes('--verbose') || args.includes('-v');
  try {
    // status, history... of an app on remote hosts: each host answers (loaded for those verbs only)
    const verb = verbOf(args);
    if (verb && FLEET_VERBS.has(verb)) {
      const { routeToFleet } = await import('./fleet-route.js');
      const routed = await routeToFleet(args);
      if (routed !== null) return routed;
    }
    const program = await buildProgram(args);
    await program.parseAsync(args, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    return report(e, { json: wantsJson, verbose });
  }
}

function report(e: unknown, o: { json: boolean; verbose: boolean }): number {
  const s = makeStyle(process.stderr);
  if (e instanceof CommanderError) {
    // help and version end here too, with code 0; usage errors were already printed by commander
    if (e.exitCode === 0) return ExitCode.ok;
    // --json promises one JSON object on the last line of stdout, usage errors included
    if (o.json) process.stdout.write(`${JSON.stringify({ error: e.message.replace(/^error: /, ''), exit_code: ExitCode.usage })}\n`);
    return ExitCode.usage;
  }
  const code = e instanceof DeployerError ? e.exitCode : ExitCode.failed;
  const message = errorMessage(e);
  if (e instanceof DeployerError) {
    process.stderr.write(`${s.red('error:')} ${message}\n`);
    if (e.hint) process.stderr.write(`${s.dim(`hint: ${e.hint}`)}\n`);
  } else if (isSystemError(e)) {
    // the machine said no (permissions, disk full, a missing directory): not a bug in Deployer
    process.stderr.write(`${s.red('error:')} ${message}\n`);
  } else {
    process.stderr.write(`${s.red('internal error:')} ${message}\n${s.dim('this is a bug in Deployer; run with --verbose for the stack')}\n`);
  }
  if (o.verbose && e instanceof Error && e.stack) process.stderr.write(`${s.dim(e.stack)}\n`);
  if (o.json && !(e as Record<symbol, unknown>)?.[JSON_PRINTED]) {
    const issues = e instanceof ManifestError ? { issues: e.issues } : {};
    process.stdout.write(`${JSON.stringify({ error: message, exit_code: code, ...issues })}\n`);
  }
  return code;
}

function isSystemError(e: unknown): e is NodeJS.ErrnoException {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string';
}
