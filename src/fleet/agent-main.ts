// The agent as its own one-file bundle (dist/agent.js): what a fleet's host runs, started over
// ssh for every deploy, so it loads one file rather than the CLI's chunks (src/fleet/agent.ts).
import { agentMain } from './agent.js';

process.exitCode = await agentMain();
