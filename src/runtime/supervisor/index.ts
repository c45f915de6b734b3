export { Supervisor, type SupervisorOptions } from './supervisor.js';
export type { SupervisorEvent, Stability, LastExit } from './events.js';
export { InstanceStartError, type StartFailure } from './errors.js';
export { defaultBackoff, type BackoffOptions } from './backoff.js';
export { defaultLogOptions, type LogOptions } from './log-file.js';
export type { Timers } from './timers.js';
