/**
 * A write that never overlaps itself: a call made while one is in flight waits for it and then
 * writes once more, however many calls came meanwhile, so the last write is always of the latest
 * state.
 */
export class CoalescedWrite {
  private done: Promise<void> = Promise.resolve();
  private next: Promise<void> | null = null;

  constructor(private readonly write: () => Promise<void>) {}

  run(): Promise<void> {
    this.next ??= this.done.then(() => {
      this.next = null;
      return this.write();
    });
    const next = this.next;
    this.done = next.catch(() => undefined);
    return next;
  }
}
