import { connect, type Socket } from 'node:net';

export interface RawResult {
  text: string;
  /** the router closed (or half-closed) the connection */
  closed: boolean;
}

export interface RawOptions {
  /** stop collecting once this holds */
  until?: (text: string) => boolean;
  /** pause between pieces */
  gapMs?: number;
  timeoutMs?: number;
  /** half-close after the last piece */
  end?: boolean;
  /** told about the socket (to destroy it after the test) */
  track?: (s: Socket) => void;
}

/**
 * Writes `pieces` to a server on loopback (each after the previous was sent, with `gapMs`
 * between), optionally half-closes, and collects what comes back until the connection closes or
 * `until(text)` holds.
 */
export function raw(port: number, pieces: (string | Buffer)[], opts: RawOptions = {}): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true });
    opts.track?.(sock);
    let text = '';
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => (opts.until ? reject(new Error(`timed out; got: ${JSON.stringify(text)}`)) : finish(false)), opts.timeoutMs ?? 5000);
    sock.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (opts.until?.(text)) finish(false);
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => undefined);
    sock.on('connect', async () => {
      for (const p of pieces) {
        if (sock.destroyed) return;
        sock.write(p);
        if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
      if (opts.end) sock.end();
    });
  });
}

/** An open raw client connection: what came back so far, and whether it closed. */
export interface RawConn {
  sock: Socket;
  text(): string;
  closed(): boolean;
}

/** Opens a connection to a server on loopback (from `from`, a loopback address), tracked for the test's clean-up. */
export async function rawConn(port: number, track: (s: Socket) => void, from = '127.0.0.1'): Promise<RawConn> {
  const sock = connect({ host: '127.0.0.1', port, localAddress: from, noDelay: true });
  track(sock);
  let text = '';
  let closed = false;
  sock.on('data', (d: Buffer) => (text += d.toString('latin1')));
  sock.on('close', () => (closed = true));
  sock.on('error', () => undefined);
  await new Promise((r) => sock.once('connect', r));
  return { sock, text: () => text, closed: () => closed };
}
