// The Runner on a full disk: a step the journal cannot record is not run, and the undo goes on
// without the journal (it frees space; the journal on disk still names what may need undoing).
import { describe, expect, it } from 'vitest';
import { DiskFullError } from '../errors.js';
import { LocalTransport } from '../hosts/local.js';
import { localFs } from '../hosts/local-fs.js';
import type { HostFs } from '../hosts/transport.js';
import { Runner } from './runner.js';
import { activate, check, context, fake, journal, layout, livePlan, plan, prepare, useRunnerSandbox } from './test-support.js';

useRunnerSandbox();

/** A LocalTransport whose journal writes fail with a full disk from the `failFrom`-th on. */
class FillingDisk extends LocalTransport {
  journalWrites = 0;
  constructor(private readonly failFrom: number) {
    super();
  }
  override readonly fs: HostFs = {
    ...localFs,
    writeAtomic: async (path, data) => {
      if (path === layout.journal && ++this.journalWrites >= this.failFrom) throw new DiskFullError(path);
      return localFs.writeAtomic(path, data);
    },
  };
}

const runOn = (t: LocalTransport, p = livePlan()) => new Runner({ ...context(), transport: t }, { handlers: fake.handlers }).run(p);

describe('Runner on a full disk', () => {
  it('does not start a step the journal cannot record, and undoes the ones before it', async () => {
    // writes: the plan, prepare running, prepare done, activate running (fails)
    const outcome = await runOn(new FillingDisk(4), plan([prepare(), activate(), check()]));
    expect(fake.log).toEqual(['run prepare_release', 'undo prepare_release']);
    expect(outcome).toMatchObject({ result: 'failed', rolledBack: false, failedStep: 1, unsaved: `the disk is full (ENOSPC): no space left to write ${layout.journal}` });
    expect(outcome.error).toBe(outcome.unsaved);
    // the journal on disk still says prepare ran: recovery would undo it (again), never miss it
    expect(journal().steps.map((s) => s.status)).toEqual(['done', 'pending', 'pending']);
  });

  it('does not commit when the journal cannot say so: the live release is rolled back', async () => {
    // writes: the plan, 2 for each of prepare, activate, check; then the commit (fails)
    const outcome = await runOn(new FillingDisk(8));
    expect(fake.log).toContain('undo activate');
    expect(fake.log).not.toContain('run hook:post_deploy');
    expect(outcome).toMatchObject({ result: 'rolled_back', rolledBack: true, unsaved: expect.stringMatching(/the disk is full/) });
    expect(journal().state).toBe('running');
  });

  it('fails before anything runs when even the plan cannot be written', async () => {
    const outcome = await runOn(new FillingDisk(1));
    expect(fake.log).toEqual([]);
    expect(outcome).toMatchObject({ result: 'failed', stoppedBefore: true, error: expect.stringMatching(/the disk is full/) });
  });
});
