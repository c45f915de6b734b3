// The built router (dist/router.js) as its own process: start it on a control socket, talk to
// that socket, and stop it (by its pid, the child we started).
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { waitFor } from './net.js';

const ROUTER = fileURLToPath(new URL('../../dist/router.js', import.meta.url));

export interface Reply {
  status: number;
  body: unknown;
  text: string;
}

/** One request to the router's control socket (a JSON body, or a string sent as it is). */
export function ctl(sock: string, method: string, path: string, body?: unknown): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: sock, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let parsed: unknown = null;
        try {
          parsed = JSON.parse(text);
        } catch {
          // text (Prometheus) answers
        }
        resolve({ status: res.statusCode ?? 0, body: parsed, text });
      });
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body));
  });
}

export interface RouterProcess {
  child: ChildProcess;
  /** what it wrote to stderr so far */
  stderr(): string;
  /** SIGKILL if it still runs, and wait for its exit */
  kill(): Promise<void>;
}

/** Starts the router on control socket `sock` and waits until the socket answers. */
export async function startRouterProcess(sock: string, extra: string[] = []): Promise<RouterProcess> {
  const child = spawn(process.execPath, [ROUTER, '--control', sock, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const p: RouterProcess = {
    child,
    stderr: () => stderr,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    },
  };
  try {
    await waitFor(async () => ((await ctl(sock, 'GET', '/state')).status === 200 ? true : undefined), 'the control socket');
  } catch (e) {
    await p.kill();
    throw e;
  }
  return p;
}
