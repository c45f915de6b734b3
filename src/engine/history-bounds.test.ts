// Recovery and doctor read only the tail of history they need: a 50 MB history.jsonl (left by a
// version that did not rotate it) is never read whole.
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalTransport } from '../hosts/local.js';
import { localFs } from '../hosts/local-fs.js';
import type { HostFs, Transport } from '../hosts/transport.js';
import type { Journal } from '../state/journal.js';
import { readHistory } from '../state/records.js';
import { diagnose } from './doctor.js';
import { recoverJournal } from './recovery.js';
import { context, layout, plan, useRunnerSandbox } from './test-support.js';

useRunnerSandbox();

/** A LocalTransport that counts the bytes it reads from history*.jsonl. */
class CountingTransport extends LocalTransport {
  historyBytes = 0;
  private count(path: string, n: number | undefined): void {
    if (/^history.*\.jsonl$/.test(basename(path))) this.historyBytes += n ?? 0;
  }
  override readonly fs: HostFs = {
    ...localFs,
    readText: async (path) => {
      const text = await localFs.readText(path);
      this.count(path, text === null ? 0 : Buffer.byteLength(text));
      return text;
    },
    readRange: async (path, offset, length) => {
      const buf = await localFs.readRange(path, offset, length);
      this.count(path, buf?.length);
      return buf;
    },
  };
}

const MB = 1024 * 1024;

/** ~50 MB of history: 5000 entries of 10 kB. */
function writeHugeHistory(): void {
  const line = (i: number) => `${JSON.stringify({ deploy_id: `old-${i}`, operation: 'deploy', result: 'succeeded', note: 'x'.repeat(10_000) })}\n`;
  writeFileSync(layout.history, Array.from({ length: 5000 }, (_, i) => line(i)).join(''));
}

function committedJournal(): Journal {
  return { version: 1, deploy_id: 'dep-1', operation: 'deploy', pid: 999_999, host: 'local', started: '2024-01-01T00:00:00.000Z', state: 'committed', plan: plan([]), steps: [] };
}

describe('a 50 MB history', () => {
  it('recovery records the interrupted deploy once, reading under 1 MB of it', async () => {
    writeHugeHistory();
    const t = new CountingTransport();
    const ctx = { ...context(), transport: t as Transport };
    await recoverJournal(ctx, committedJournal(), 'test');
    await recoverJournal(ctx, committedJournal(), 'test');
    expect(t.historyBytes).toBeLessThan(MB);
    const recorded = (await readHistory(new LocalTransport(), layout)).filter((e) => e.deploy_id === 'dep-1');
    expect(recorded).toHaveLength(1);
  });

  it('doctor (and its repair) reads under 1 MB of it, and rotates it', async () => {
    writeHugeHistory();
    const t = new CountingTransport();
    const ctx = { ...context(), transport: t as Transport };
    const findings = await diagnose(ctx, true);
    expect(t.historyBytes).toBeLessThan(MB);
    expect(findings.find((f) => /history\.jsonl/.test(f.message))).toMatchObject({ severity: 'warn', repaired: true });
    expect(readFileSync(layout.history.replace(/\.jsonl$/, '.1.jsonl')).length).toBeGreaterThan(50 * 1_000_000);
  });

  it('doctor --repair rewrites a history within its bound without its unreadable lines', async () => {
    const good = (id: string) => `${JSON.stringify({ deploy_id: id })}\n`;
    writeFileSync(layout.history, `${good('a')}{"deploy_id": "torn\n${good('b')}`);
    const findings = await diagnose(context(), true);
    expect(findings.find((f) => /history\.jsonl/.test(f.message))).toMatchObject({ message: 'history.jsonl has 1 unreadable line(s)', repaired: true });
    expect(readFileSync(layout.history, 'utf8')).toBe(good('a') + good('b'));
  });
});
