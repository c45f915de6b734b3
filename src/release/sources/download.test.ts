import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SourceError } from '../../errors.js';
import { downloadToFile, sha256File } from './download.js';

// 3 MiB in 64 KiB writes: big enough to stream in several chunks
const payload = Buffer.alloc(3 * 1024 * 1024, 'deployer-release-');
const payloadSha = createHash('sha256').update(payload).digest('hex');

let server: http.Server;
let base: string;
let authSeen: (string | undefined)[] = [];
const hanging: http.ServerResponse[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    authSeen.push(req.headers.authorization);
    switch (req.url) {
      case '/app.tar.gz': {
        res.writeHead(200, { 'content-type': 'application/gzip' });
        let off = 0;
        const more = () => {
          while (off < payload.length) {
            const chunk = payload.subarray(off, (off += 65536));
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        return more();
      }
      case '/moved':
        res.writeHead(302, { location: '/app.tar.gz' });
        return res.end();
      case '/private':
        if (req.headers.authorization !== `Basic ${Buffer.from('deploy:s3cret').toString('base64')}`) {
          res.writeHead(401);
          return res.end();
        }
        return res.end('private bits');
      case '/hang':
        return void hanging.push(res);
      default:
        res.writeHead(404, 'Not Found');
        return res.end('nope');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

let dir: string;
let dest: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'deployer-download-'));
  dest = path.join(dir, 'app.tar.gz');
  authSeen = [];
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

async function failure(p: Promise<unknown>): Promise<SourceError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(SourceError);
  return err as SourceError;
}

describe('downloadToFile', () => {
  it('streams the body to dest and returns its sha256 and size', async () => {
    const r = await downloadToFile(`${base}/app.tar.gz`, dest, { expectedSha256: payloadSha.toUpperCase() });
    expect(r).toEqual({ sha256: payloadSha, bytes: payload.length });
    expect((await fs.readFile(dest)).equals(payload)).toBe(true);
    expect(await sha256File(dest)).toBe(payloadSha);
  });

  it('removes dest and names both digests on a sha256 mismatch', async () => {
    const wrong = 'ab'.repeat(32);
    const err = await failure(downloadToFile(`http://ci:hunter2@127.0.0.1:${new URL(base).port}/app.tar.gz`, dest, { expectedSha256: wrong }));
    expect(err.message).toBe(`sha256 mismatch for ${base}/app.tar.gz: expected ${wrong}, got ${payloadSha}`);
    expect(await exists(dest)).toBe(false);
  });

  it('fails on a non-2xx status, naming the status and the URL without credentials', async () => {
    const err = await failure(downloadToFile(`http://ci:hunter2@127.0.0.1:${new URL(base).port}/missing.tar.gz`, dest));
    expect(err.message).toContain('HTTP 404');
    expect(err.message).toContain(`${base}/missing.tar.gz`);
    expect(err.message).not.toContain('hunter2');
    expect(await exists(dest)).toBe(false);
  });

  it('follows redirects', async () => {
    const r = await downloadToFile(`${base}/moved`, dest);
    expect(r.sha256).toBe(payloadSha);
  });

  it('sends URL credentials as basic auth', async () => {
    await downloadToFile(`http://deploy:s3cret@127.0.0.1:${new URL(base).port}/private`, dest);
    expect(await fs.readFile(dest, 'utf8')).toBe('private bits');
    expect(authSeen).toEqual([`Basic ${Buffer.from('deploy:s3cret').toString('base64')}`]);
  });

  it('gives up after timeoutMs', async () => {
    const err = await failure(downloadToFile(`${base}/hang`, dest, { timeoutMs: 200 }));
    expect(err.message).toMatch(/after 200 ms/);
    expect(await exists(dest)).toBe(false);
  });

  it('turns a network error into a SourceError', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const err = await failure(downloadToFile(`http://127.0.0.1:${port}/x.zip`, dest));
    expect(err.message).toContain(`cannot download http://127.0.0.1:${port}/x.zip`);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });

  it('refuses other schemes and a malformed expected digest', async () => {
    expect((await failure(downloadToFile('ftp://example.com/a.zip', dest))).message).toContain('only http and https');
    expect((await failure(downloadToFile(`${base}/app.tar.gz`, dest, { expectedSha256: 'abc' }))).message).toContain('64 hex digits');
  });
});
