// The lint rule that keeps the layers apart (eslint.config.js, `layers()`): each forbidden
// import is linted as if it were in the layer's folder and must fail, so the rule cannot
// silently stop matching (a moved folder, a changed pattern); an allowed import must pass.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: process.cwd() });

/** The messages of no-restricted-imports for `code` placed at `filePath`. */
async function restricted(filePath: string, code: string): Promise<string[]> {
  const [r] = await eslint.lintText(`${code}\nexport const used = x;\n`, { filePath });
  return (r?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rule', () => {
  const refused: [string, string][] = [
    ['src/engine/handlers/x.ts', "import { x } from '../../runtime/client.js';"],
    ['src/engine/x.ts', "import { x } from '../routers/embedded.js';"],
    ['src/engine/x.ts', "import { x } from '../routers/nginx.js';"],
    ['src/engine/x.ts', "import { x } from '../services/process.js';"],
    ['src/engine/x.ts', "import { x } from '../wiring/router.js';"],
    ['src/strategies/x.ts', "import { x } from '../runtime/app-config.js';"],
    ['src/strategies/x.ts', "import { x } from '../hosts/transport.js';"],
    ['src/strategies/x.ts', "import { x } from '../routers/haproxy-admin.js';"],
    ['src/plan/x.ts', "import type { x } from '../runtime/model.js';"],
    ['src/state/x.ts', "import type { x } from '../engine/canary/session.js';"],
    ['src/runtime/daemon/x.ts', "import type { x } from '../../plan/steps.js';"],
    ['src/runtime/x.ts', "import { x } from '../strategies/pools.js';"],
    ['src/runtime/x.ts', "import { x } from '../engine/context.js';"],
    ['src/manifest/schema/x.ts', "import { x } from '../../analysis/router-metrics.js';"],
  ];
  it.each(refused)('%s may not: %s', async (file, code) => {
    expect(await restricted(file, code)).toHaveLength(1);
  });

  const allowed: [string, string][] = [
    ['src/engine/x.ts', "import type { x } from '../routers/types.js';"],
    ['src/engine/x.ts', "import type { x } from '../services/instance-manager.js';"],
    ['src/engine/handlers/x.ts', "import { x } from './runtime-ops.js';"],
    ['src/strategies/x.ts', "import { x } from './pools.js';"],
    ['src/wiring/x.ts', "import { x } from '../runtime/client.js';"],
    ['src/runtime/x.ts', "import type { x } from '../routers/types.js';"],
  ];
  it.each(allowed)('%s may: %s', async (file, code) => {
    expect(await restricted(file, code)).toEqual([]);
  });
});
