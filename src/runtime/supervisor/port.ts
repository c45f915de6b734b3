import { createServer } from 'node:net';

type Probe = 'free' | 'busy' | 'unknown';

function probe(port: number, host: string): Promise<Probe> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE' ? 'busy' : 'unknown'));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve('free')));
  });
}

/**
 * Whether some process listens on `port`: binding 127.0.0.1, then [::] (dual stack, so a
 * listener on 0.0.0.0 or ::1 is found too), fails with EADDRINUSE. A host without IPv6, or a
 * privileged port, answers 'unknown' and counts as free: the app will say so itself.
 */
export async function portInUse(port: number): Promise<boolean> {
  for (const host of ['127.0.0.1', '::']) {
    if ((await probe(port, host)) === 'busy') return true;
  }
  return false;
}
