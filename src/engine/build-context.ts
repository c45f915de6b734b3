import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { LocalTransport } from '../hosts/local.js';
import type { Transport } from '../hosts/transport.js';
import type { LoadedManifest } from '../manifest/load.js';
import { AppLayout } from '../release/layout.js';
import { Redactor } from '../state/redact.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { RunContext } from './context.js';
import type { Emit } from './events.js';

// Building an operation's context needs no manifest parser: the agent on a fleet's host, which
// gets the manifest already validated, loads this without yaml or zod.

export function deployerHome(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.DEPLOYER_HOME || join(env.HOME || homedir(), '.deployer'));
}

function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p === '~' || p.startsWith('~/')) return join(env.HOME || homedir(), p.slice(1));
  return p;
}

/** Where the app lives on this machine: deployment.app_root, or $DEPLOYER_HOME/apps/<name>. */
export function appRootFor(loaded: LoadedManifest, env: NodeJS.ProcessEnv = process.env): string {
  const m = loaded.manifest;
  const hostRoot = m.hosts.map((h) => (typeof h === 'object' && h.host === 'local' ? h.app_root : undefined)).find(Boolean);
  const root = hostRoot ?? m.deployment.app_root;
  return root ? resolve(expandHome(root, env)) : join(deployerHome(env), 'apps', m.name);
}


export interface ContextInput {
  loaded: LoadedManifest;
  emit: Emit;
  strategy: string;
  versionOverride?: string;
  clock?: Clock;
  transport?: Transport;
  /** build the service manager (deploy/rollback/repair); other verbs don't need one (used by the wiring) */
  withService?: boolean;
}

export function newDeployId(clock: Clock = systemClock): string {
  const t = clock.now().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `dep_${t}_${randomBytes(3).toString('hex')}`;
}

/** The context without adapters: `wiring/context.ts` gives it its service manager, instances and router. */
export function buildBareContext(i: ContextInput): RunContext {
  const clock = i.clock ?? systemClock;
  const transport = i.transport ?? new LocalTransport();
  const ctx: RunContext = {
    transport,
    hostName: transport.name,
    layout: new AppLayout(appRootFor(i.loaded)),
    loaded: i.loaded,
    service: noService,
    deployId: newDeployId(clock),
    strategy: i.strategy,
    clock,
    emit: i.emit,
    redactor: Redactor.forManifest(i.loaded.manifest, i.loaded.secrets),
    home: deployerHome(),
    ...(i.versionOverride ? { versionOverride: i.versionOverride } : {}),
    data: {},
  };
  return ctx;
}

const noService = {
  kind: 'none',
  async restart() {
    throw new Error('no service manager in this context');
  },
};
