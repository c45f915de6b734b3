import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { portInUse } from './port.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

function listen(host: string): Promise<number> {
  server = createServer();
  return new Promise((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(0, host, () => resolve((server!.address() as { port: number }).port));
  });
}

describe('portInUse', () => {
  it('finds a listener on 127.0.0.1', async () => {
    expect(await portInUse(await listen('127.0.0.1'))).toBe(true);
  });

  it('finds a listener on 0.0.0.0', async () => {
    expect(await portInUse(await listen('0.0.0.0'))).toBe(true);
  });

  it('says free once the listener is gone', async () => {
    const port = await listen('127.0.0.1');
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    expect(await portInUse(port)).toBe(false);
  });
});
