import { activateHandler } from './activate.js';
import { canaryAnalysisHandler, setRoutesHandler, setWeightsHandler } from './canary-stage.js';
import { cleanupHandler } from './cleanup.js';
import { healthCheckHandler } from './health-check.js';
import { hookHandler } from './hook.js';
import { prepareHandler } from './prepare.js';
import { drainTargetHandler, enableTargetHandler, startInstanceHandler, stopInstanceHandler, waitHandler } from './rolling-steps.js';
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
  drain_target: drainTargetHandler,
  stop_instance: stopInstanceHandler,
  start_instance: startInstanceHandler,
  enable_target: enableTargetHandler,
  wait: waitHandler,
  set_current: setCurrentHandler,
  set_weights: setWeightsHandler,
  canary_analysis: canaryAnalysisHandler,
  set_routes: setRoutesHandler,
};
