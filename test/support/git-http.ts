// A real git smart-HTTP server on 127.0.0.1: git's own `git http-backend` (CGI) behind a small
// node HTTP server that requires basic auth, as a forge does for a private repository.
import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { run } from './fixtures.js';

export interface GitHttpServer {
  /** http://127.0.0.1:PORT/<repo> */
  url(repo: string): string;
  /** the Authorization header of every request, in order (undefined: none sent) */
  authorizations: (string | undefined)[];
  close(): Promise<void>;
}

function backend(root: string, exec: string, req: IncomingMessage, res: ServerResponse, user: string): void {
  const u = new URL(req.url ?? '/', 'http://x');
  const cgi = spawn(`${exec}/git-http-backend`, [], {
    env: {
      PATH: process.env.PATH,
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: decodeURIComponent(u.pathname),
      QUERY_STRING: u.search.slice(1),
      CONTENT_TYPE: req.headers['content-type'] ?? '',
      ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
      ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
      REMOTE_USER: user,
      REMOTE_ADDR: '127.0.0.1',
    },
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  req.pipe(cgi.stdin);
  let head = Buffer.alloc(0);
  let headDone = false;
  cgi.stdout.on('data', (chunk: Buffer) => {
    if (headDone) return void res.write(chunk);
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    headDone = true;
    for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
      const i = line.indexOf(':');
      const [k, v] = [line.slice(0, i).trim(), line.slice(i + 1).trim()];
      if (k.toLowerCase() === 'status') res.statusCode = Number(v.split(' ')[0]);
      else res.setHeader(k, v);
    }
    res.write(head.subarray(end + 4));
  });
  cgi.on('close', () => res.end());
  cgi.on('error', () => {
    res.statusCode = 500;
    res.end();
  });
}

/** Serves the bare repositories under `root`; every request needs basic auth `user:password`. */
export async function serveGit(root: string, user: string, password: string): Promise<GitHttpServer> {
  const exec = run(['git', '--exec-path'], root).trim();
  const authorizations: (string | undefined)[] = [];
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const server = createServer((req, res) => {
    authorizations.push(req.headers.authorization);
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' });
      return void res.end('unauthorized\n');
    }
    backend(root, exec, req, res, user);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: (repo) => `http://127.0.0.1:${port}/${repo}`,
    authorizations,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
