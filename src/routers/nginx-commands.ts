// Command builders for the nginx router: argv only, run by the adapter through transport.exec.
import { shellCommand } from '../services/commands.js';

/** router.nginx.test_command / reload_command: the user's shell command lines. */
export const nginxShellCommand = (command: string): readonly string[] => shellCommand(command);

/** Every process with its parent and command line, to find nginx masters and their workers. */
export const processListCommand = (): readonly string[] => ['ps', '-eo', 'pid=,ppid=,args='];
