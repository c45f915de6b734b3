import type { RuntimeObserved } from '../strategies/observe.js';
import type { RuntimeClient } from './client.js';

/** The app's pools in the runtime, as planners see them (null: the app has nothing there). */
export async function observeRuntime(client: RuntimeClient, app: string): Promise<RuntimeObserved | null> {
  const view = await client.app(app);
  if (!view) return null;
  const names = new Set([...Object.keys(view.weights), ...view.instances.map((i) => i.pool)]);
  return {
    pools: [...names].sort().map((name) => ({
      name,
      weight: view.weights[name] ?? 0,
      instances: view.instances.filter((i) => i.pool === name).map((i) => ({ id: i.id, port: i.port, release: i.release, state: i.state })),
    })),
  };
}
