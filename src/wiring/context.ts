import { buildBareContext, type ContextInput } from '../engine/build-context.js';
import type { RunContext } from '../engine/context.js';
import { wireContext } from './instances.js';

/** An operation's context with its adapters (service manager, instance manager, router), named by the manifest. */
export function buildContext(i: ContextInput): RunContext {
  const ctx = buildBareContext(i);
  wireContext(ctx, i.withService !== false);
  return ctx;
}
