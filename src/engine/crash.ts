/**
 * Fault injection for the crash tests: when DEPLOYER_TEST_CRASH names this point, the process
 * kills itself with SIGKILL right here, as `kill -9` from outside would. Points: `step:N:before`,
 * `step:N:after`, `undo:N:before`, `undo:N:after`, `prepare:installed`, `activate:switched`,
 * `commit`, `finished` (a failure decided, before on_failure). Unset in normal use.
 */
export function crashPoint(name: string): void {
  const want = process.env.DEPLOYER_TEST_CRASH;
  if (want && want.split(',').includes(name)) process.kill(process.pid, 'SIGKILL');
}
