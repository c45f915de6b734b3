import { refuseIncapableRouter } from '../strategies/capabilities.js';
import type { RunContext } from './context.js';

/** Refuses (exit 2, naming router.type) a strategy the context's router cannot carry. */
export function refuseIncapable(ctx: RunContext): void {
  if (ctx.router) refuseIncapableRouter(ctx.router, ctx.loaded.manifest, ctx.strategy);
}
