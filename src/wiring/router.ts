// The one place that names a router adapter: router.type -> the Router the engine is given.
import { ManifestError } from '../errors.js';
import { HaproxyRouter } from '../routers/haproxy.js';
import { NginxRouter } from '../routers/nginx.js';
import type { LoadedManifest } from '../manifest/load.js';
import { EmbeddedRouter } from '../routers/embedded.js';
import { NoneRouter } from '../routers/none.js';
import type { LiveRouting, Router, RouterDeps } from '../routers/types.js';
import type { RuntimeClient } from '../runtime/client.js';

/** @param runtime the runtime daemon's client once connected (the embedded router lives in it) */
export function createRouter(loaded: LoadedManifest, deps: RouterDeps, runtime: () => RuntimeClient | undefined): Router {
  const type = loaded.manifest.router.type;
  switch (type) {
    case 'embedded':
      return new EmbeddedRouter(() => {
        const rt = runtime();
        if (!rt) throw new Error('router.type embedded: the runtime daemon is not connected');
        return rt;
      }, deps.app);
    case 'nginx': {
      const c = required(loaded.manifest.router.nginx, 'nginx');
      return new NginxRouter({ ...c, upstream: c.upstream ?? deps.app }, deps);
    }
    case 'haproxy': {
      const c = required(loaded.manifest.router.haproxy, 'haproxy');
      return new HaproxyRouter({ ...c, backend: c.backend ?? deps.app }, deps);
    }
    case 'none':
      return new NoneRouter();
  }
}

/** The router's section (the manifest rules require it with its type; a fleet host's copy was checked too). */
function required<T>(section: T | undefined, type: string): T {
  if (section === undefined) throw new ManifestError([{ path: `router.${type}`, message: `is required with \`type: ${type}\`` }]);
  return section;
}

/**
 * What an external router (nginx, HAProxy) serves for `status`: null when it has nothing for the
 * app, undefined when there is no such router to read (none; embedded: the runtime view shows it).
 */
export async function externalLive(loaded: LoadedManifest, deps: RouterDeps): Promise<LiveRouting | null | undefined> {
  const type = loaded.manifest.router.type;
  if (type === 'none' || type === 'embedded') return undefined;
  return createRouter(loaded, deps, () => undefined).live();
}
