// The fleet benchmark's knobs, from the environment:
//   FLEET_TOOLS        comma list of deployer, capistrano, shipit (default: all three)
//   FLEET_SIZES        comma list of host counts (default 1,5,10,20); the largest is the "big" fleet
//   FLEET_REPEAT       medians of n runs (default 3 for bench/fleet.mjs, 1 for bench/fleet-peers.mjs)
//   FLEET_KILL_REPEAT  killed-at-switch runs per tool (default 1)
export const ALL_TOOLS = Object.freeze(['deployer', 'capistrano', 'shipit']);
export const DEFAULT_SIZES = Object.freeze([1, 5, 10, 20]);

const list = (v) => String(v ?? '').split(',').map((x) => x.trim()).filter(Boolean);

export function fleetTools(env = process.env) {
  const tools = env.FLEET_TOOLS ? list(env.FLEET_TOOLS).map((t) => t.toLowerCase()) : [...ALL_TOOLS];
  const bad = tools.filter((t) => !ALL_TOOLS.includes(t));
  if (bad.length || !tools.length) throw new Error(`FLEET_TOOLS: unknown ${bad.join(', ') || '(empty)'}; known: ${ALL_TOOLS.join(', ')}`);
  return ALL_TOOLS.filter((t) => tools.includes(t)); // fixed order, no duplicates
}

export function fleetSizes(env = process.env) {
  if (!env.FLEET_SIZES) return [...DEFAULT_SIZES];
  const sizes = list(env.FLEET_SIZES).map(Number);
  if (!sizes.length || sizes.some((n) => !Number.isInteger(n) || n < 1 || n > 200)) throw new Error(`FLEET_SIZES: bad list ${env.FLEET_SIZES}`);
  return [...new Set(sizes)].sort((a, b) => a - b);
}

export const fleetRepeat = (def, env = process.env) => Math.max(1, Math.min(10, Number(env.FLEET_REPEAT ?? def) || def));
export const fleetKillRepeat = (env = process.env) => Math.max(1, Math.min(5, Number(env.FLEET_KILL_REPEAT ?? 1) || 1));
