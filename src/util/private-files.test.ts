import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { localFs } from '../hosts/local-fs.js';
import { privateDir, privateDirSync } from './private-files.js';

const mode = (p: string) => (statSync(p).mode & 0o777).toString(8);

let dir: string;
let umask: number;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'private-'));
  // the loosest umask: the modes below are Deployer's, not the umask's
  umask = process.umask(0);
});
afterEach(() => {
  process.umask(umask);
  rmSync(dir, { recursive: true, force: true });
});

describe('private directories and files', () => {
  it('creates directories 0700 (their missing parents with the usual mode), and tightens one an older version made wider', async () => {
    // an app root made on the way to its .deploy_state/ stays readable to others (a web server)
    await privateDir(join(dir, 'app', '.deploy_state'));
    expect([mode(join(dir, 'app')), mode(join(dir, 'app', '.deploy_state'))]).toEqual(['777', '700']);
    mkdirSync(join(dir, 'old'), { mode: 0o755 });
    privateDirSync(join(dir, 'old'));
    expect(mode(join(dir, 'old'))).toBe('700');
    await localFs.mkdirp(join(dir, 'wide'), { private: true });
    expect(mode(join(dir, 'wide'))).toBe('700');
  });

  it('writes state files 0600: atomic writes, exclusive creates and appended lines', async () => {
    await localFs.writeAtomic(join(dir, 'last_deploy.json'), '{}\n');
    await localFs.createExclusive(join(dir, 'deploy.lock'), '{}\n');
    await localFs.appendLine(join(dir, 'history.jsonl'), '{}');
    expect(['last_deploy.json', 'deploy.lock', 'history.jsonl'].map((f) => mode(join(dir, f)))).toEqual(['600', '600', '600']);
  });
});
