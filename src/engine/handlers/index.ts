import { activateHandler } from './activate.js';
import { cleanupHandler } from './cleanup.js';
import { healthCheckHandler } from './health-check.js';
import { hookHandler } from './hook.js';
import { prepareHandler } from './prepare.js';
import type { Handlers } from './types.js';

export const defaultHandlers: Handlers = {
  prepare_release: prepareHandler,
  hook: hookHandler,
  activate: activateHandler,
  health_check: healthCheckHandler,
  cleanup: cleanupHandler,
};
