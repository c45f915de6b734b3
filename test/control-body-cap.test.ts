import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRuntime, stopRuntime, type RuntimeClient } from '../src/runtime/client.js';
import { runtimePaths } from '../src/runtime/paths.js';
import { callUnix, MAX_CONTROL_ANSWER } from '../src/runtime/unix-json.js';

/**
 * The control sockets (the daemon's and the router process's) refuse a request body over 1 MiB
 * with 413, as it streams: a body announced larger is refused before it is read, an endless
 * chunked one once past the cap; neither is buffered whole, and both servers keep serving.
 */

const home = realpathSync(mkdtempSync(join(tmpdir(), 'ctlcap-')));
const paths = runtimePaths(home);
let client: RuntimeClient;

beforeAll(async () => {
  client = (await ensureRuntime(home)).client;
});
afterAll(async () => {
  await stopRuntime(home);
  rmSync(home, { recursive: true, force: true });
});

interface Sent {
  /** the answer's head and body, as received */
  answer: string;
  /** body bytes written before the answer came */
  beforeAnswer: number;
  /** body bytes written in all, before the server closed the connection (or the bounds) */
  bytes: number;
}

/**
 * PUT /settings on `socket` with a head (`declared` content-length, or chunked) and then body
 * bytes, each chunk once the last one is flushed (answers are read between them), until the
 * server closes the connection, or 256 MiB or 20 s have gone by. With a declared length it
 * first waits for an early answer (as an HTTP client honours one), then goes on writing.
 */
function flood(socket: string, declared: number | null): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    const chunk = Buffer.alloc(65536, 0x20);
    const frame = declared === null ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
    let bytes = 0;
    let beforeAnswer = -1;
    let answer = '';
    let stopped = false;
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      s.destroy();
      resolve({ answer, beforeAnswer, bytes });
    };
    const timer = setTimeout(stop, 20_000);
    const pump = async () => {
      while (!stopped && bytes < 256 * 1024 * 1024) {
        await new Promise((r) => s.write(frame, r));
        bytes += chunk.length;
        await new Promise((r) => setImmediate(r));
      }
    };
    s.on('connect', () => {
      const length = declared === null ? 'transfer-encoding: chunked' : `content-length: ${declared}`;
      s.write(`PUT /settings HTTP/1.1\r\nhost: deployer\r\ncontent-type: application/json\r\n${length}\r\n\r\n`);
      if (declared === null) void pump();
    });
    s.on('data', (d) => {
      if (beforeAnswer < 0) {
        beforeAnswer = bytes;
        if (declared !== null) void pump();
      }
      answer += d.toString('latin1');
    });
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? stop() : reject(e)));
    s.on('close', stop);
  });
}

describe.each([
  ['the daemon', () => paths.control],
  ['the router process', () => paths.router],
])('%s control socket', (_name, socket) => {
  it('refuses a declared content-length over 1 MiB with 413 before a byte of the body is sent', async () => {
    const r = await flood(socket(), 100 * 1024 * 1024);
    expect(r.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.answer).toMatch(/"error":"request body of 104857600 bytes: over 1 MiB \(1048576 bytes\), refused"/);
    // answered on the head alone, and the connection closed: the body is not read on
    expect(r.beforeAnswer).toBe(0);
    expect(r.bytes).toBeLessThan(32 * 1024 * 1024);
  });

  it('refuses an endless chunked body with 413 once past 1 MiB, and stops reading', async () => {
    const r = await flood(socket(), null);
    expect(r.answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(r.answer).toMatch(/"error":"request body over 1 MiB \(1048576 bytes\): refused"/);
    expect(r.beforeAnswer).toBeLessThan(16 * 1024 * 1024);
    expect(r.bytes).toBeLessThan(32 * 1024 * 1024);
    // still serving
    expect(await callUnix<{ ok: boolean }>(socket(), 'PUT', '/settings', { metricsListen: null }, { timeoutMs: 5000 })).toMatchObject({ ok: true });
  });
});

describe('the client', () => {
  it('still talks to the daemon after both floods', async () => {
    expect(await client.call('GET', '/status')).toBeTruthy();
  });
});

describe('callUnix', () => {
  it('refuses an answer over its cap while it streams, and closes the connection', async () => {
    const { createServer } = await import('node:http');
    const sock = join(home, 'endless.sock');
    let written = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(65536, 0x20);
      const more = () => {
        while (!res.destroyed && written < 1024 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', more);
        }
        res.end();
      };
      more();
    });
    await new Promise<void>((r) => server.listen(sock, r));
    try {
      await expect(callUnix(sock, 'GET', '/status', undefined, { timeoutMs: 20_000 })).rejects.toThrow(
        `answer from ${sock} GET /status over ${MAX_CONTROL_ANSWER} bytes: refused, the rest not read`,
      );
      await expect.poll(() => written, { timeout: 5000 }).toBeLessThan(MAX_CONTROL_ANSWER + 32 * 1024 * 1024);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
