import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import type { Clock } from '../util/clock.js';

/** A loopback port that was just free: bound, then closed, so connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

/** True when the pid is gone or only a zombie waiting to be reaped. */
export function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 1).trim().startsWith('Z');
  } catch {
    return true;
  }
}

/** Awaits a promise that must reject with an error of class `cls`, and returns that error. */
export async function rejection<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E): Promise<E> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof cls)) throw new Error(`expected a ${cls.name}, got ${e === null ? 'success' : String(e)}`);
  return e;
}

/** Polls `cond` every 10 ms until it holds or `ms` has passed; returns whether it held. */
export async function until(cond: () => boolean | Promise<boolean>, ms = 2000): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (performance.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A clock whose time moves only when someone sleeps on it (or calls advance). */
export class FakeClock implements Clock {
  t = 0;
  readonly sleeps: number[] = [];
  now(): Date {
    return new Date(1_700_000_000_000 + this.t);
  }
  monotonic(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) throw signal.reason;
    this.sleeps.push(ms);
    this.t += ms;
    await Promise.resolve();
  }
}
