import { mkdtempSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { localFs } from '../hosts/local-fs.js';
import { AccessLogReader, completeLines, lastAttempt, parseAccessLogLine } from './nginx-access-log.js';

const line = (o: Record<string, string>) =>
  JSON.stringify({ msec: '1765137600.123', status: '200', request_time: '0.012', upstream_addr: '127.0.0.1:3000', upstream_status: '200', upstream_response_time: '0.011', upstream_header_time: '0.010', ...o });

describe('parseAccessLogLine', () => {
  it('reads status, latency in ms and the upstream address', () => {
    expect(parseAccessLogLine(line({}))).toEqual({ upstreamAddr: '127.0.0.1:3000', status: 200, latencyMs: 12, noResponse: false });
  });
  it('attributes a retried or redirected request to the last upstream', () => {
    expect(lastAttempt('127.0.0.1:3000, 127.0.0.1:3001')).toBe('127.0.0.1:3001');
    expect(lastAttempt('127.0.0.1:3000 : 127.0.0.1:3002')).toBe('127.0.0.1:3002');
    expect(lastAttempt('127.0.0.1:3000, 127.0.0.1:3001 : [::1]:3002')).toBe('[::1]:3002');
    expect(lastAttempt('-')).toBeNull();
    expect(lastAttempt('')).toBeNull();
  });
  it('tells a 502 nginx made (no response header) from a 502 the app sent', () => {
    expect(parseAccessLogLine(line({ status: '502', upstream_status: '502', upstream_header_time: '-' }))!.noResponse).toBe(true);
    expect(parseAccessLogLine(line({ status: '504', upstream_status: '504', upstream_header_time: '0.001, -' }))!.noResponse).toBe(true);
    expect(parseAccessLogLine(line({ status: '502', upstream_status: '502', upstream_header_time: '0.003' }))!.noResponse).toBe(false);
    expect(parseAccessLogLine(line({ status: '500' }))!.noResponse).toBe(false);
  });
  it('returns null for what is not one of its lines', () => {
    for (const l of ['', 'not json', '127.0.0.1 - - [07/Dec/2026] "GET / HTTP/1.1" 200', '{"status":"x","request_time":"1"}', '{"status":"200"}', 'null', '{"status":"200","request_time":'])
      expect(parseAccessLogLine(l), l).toBeNull();
  });
});

describe('completeLines', () => {
  it('keeps a cut last line for the next read', () => {
    expect(completeLines(Buffer.from('a\nb\nc'))).toEqual({ lines: ['a', 'b'], consumed: 4 });
    expect(completeLines(Buffer.from('abc'))).toEqual({ lines: [], consumed: 0 });
  });
});

describe('AccessLogReader', () => {
  const pools: Record<string, string> = { '127.0.0.1:3000': 'stable', '127.0.0.1:3100': 'canary' };
  const poolOf = (a: string) => pools[a];

  it('starts at the end, reads what came since, waits for a cut line, and starts over after a truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deployer-log-'));
    const path = join(dir, 'access.log');
    writeFileSync(path, `${line({ status: '500' })}\n`);
    const r = new AccessLogReader(localFs, path);
    expect(await r.read(poolOf)).toEqual([]);
    const canary = line({ upstream_addr: '127.0.0.1:3100' });
    appendFileSync(path, `${line({})}\n${canary.slice(0, 20)}`);
    expect((await r.read(poolOf)).map((x) => x.pool)).toEqual(['stable']);
    appendFileSync(path, `${canary.slice(20)}\n${line({ upstream_addr: '10.0.0.9:80' })}\nrubbish\n`);
    expect((await r.read(poolOf)).map((x) => x.pool)).toEqual(['canary']);
    expect(r.skipped).toBe(1);
    writeFileSync(path, `${line({ status: '404' })}\n`);
    expect((await r.read(poolOf)).map((x) => [x.pool, x.status])).toEqual([['stable', 404]]);
  });

  it('reads a log that appears after the first read from its start', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'deployer-log-')), 'access.log');
    const r = new AccessLogReader(localFs, path);
    expect(await r.read(poolOf)).toEqual([]);
    writeFileSync(path, `${line({})}\n`);
    expect(await r.read(poolOf)).toHaveLength(1);
  });
});
