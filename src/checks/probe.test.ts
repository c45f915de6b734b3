import { describe, expect, it } from 'vitest';
import type { CheckSpec } from './types.js';
import { probeOnce } from './probe.js';
import { closedPort } from './test-support.js';

describe('probeOnce', () => {
  it('dispatches on the check type', async () => {
    const port = await closedPort();
    expect(await probeOnce({ type: 'http', url: `http://127.0.0.1:${port}/`, expectedStatus: [200] }, 1000)).toMatchObject({
      ok: false,
      detail: 'connection refused',
    });
    expect((await probeOnce({ type: 'tcp', host: '127.0.0.1', port }, 1000)).detail).toBe('connection refused');
    expect(await probeOnce({ type: 'process', pid: process.pid }, 1000)).toMatchObject({ ok: true, detail: `pid ${process.pid} is running` });
    expect(await probeOnce({ type: 'command', command: 'exit 4' }, 1000)).toMatchObject({ ok: false, detail: 'exit 4' });
  });

  it('turns an unknown type into a failed result instead of throwing', async () => {
    const r = await probeOnce({ type: 'smtp' } as unknown as CheckSpec, 1000);
    expect(r).toMatchObject({ ok: false, detail: 'unknown check type "smtp"' });
  });
});
