import { activateHandler } from './activate.js';
import { canaryStageHandler, setRoutesHandler } from './canary-stage.js';
import { cleanupHandler } from './cleanup.js';
import { healthCheckHandler } from './health-check.js';
import { hookHandler } from './hook.js';
import { prepareHandler } from './prepare.js';
import { rollBatchHandler } from './roll-batch.js';
import { smokeTestHandler } from './smoke-test.js';
import { startInstancesHandler } from './start-instances.js';
import { stopInstancesHandler } from './stop-instances.js';
import { setCurrentHandler, switchTrafficHandler } from './switch-traffic.js';
import type { Handlers } from './types.js';
import { warmupHandler } from './warmup.js';

export const defaultHandlers: Handlers = {
  prepare_release: prepareHandler,
  hook: hookHandler,
  activate: activateHandler,
  health_check: healthCheckHandler,
  cleanup: cleanupHandler,
  start_instances: startInstancesHandler,
  smoke_test: smokeTestHandler,
  warmup: warmupHandler,
  switch_traffic: switchTrafficHandler,
  stop_instances: stopInstancesHandler,
  roll_batch: rollBatchHandler,
  set_current: setCurrentHandler,
  canary_stage: canaryStageHandler,
  set_routes: setRoutesHandler,
};
