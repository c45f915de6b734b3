declare const __DEPLOYER_VERSION__: string;

// Fast path: `--version` must not load the rest of the CLI.
const args = process.argv.slice(2);
if (args[0] === '--version' || args[0] === '-V') {
  process.stdout.write(`${__DEPLOYER_VERSION__}\n`);
} else {
  const { run } = await import('./program.js');
  process.exitCode = await run(args);
}
