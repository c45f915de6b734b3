import type { Command } from 'commander';
import { registerCleanup } from './cleanup.js';
import { registerDeploy } from './deploy.js';
import { registerDoctor } from './doctor.js';
import { registerHistory } from './history.js';
import { registerInit } from './init.js';
import { registerNotYet } from './not-yet.js';
import { registerProtect } from './protect.js';
import { registerReleases } from './releases.js';
import { registerRollback } from './rollback.js';
import { registerSchema } from './schema.js';
import { registerStatus } from './status.js';
import { registerUnlock } from './unlock.js';
import { registerValidate } from './validate.js';

export function registerCommands(program: Command): void {
  registerInit(program);
  registerValidate(program);
  registerDeploy(program);
  registerRollback(program);
  registerNotYet(program);
  registerStatus(program);
  registerReleases(program);
  registerHistory(program);
  registerCleanup(program);
  registerProtect(program);
  registerDoctor(program);
  registerUnlock(program);
  registerSchema(program);
}
