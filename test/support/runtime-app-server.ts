// The sample app the runtime tests deploy: one small Node HTTP server, its behaviour switched by
// marker files in its directory.

/**
 * The app: GET / answers 200 with one JSON line `{"ok":true,"version":...,"release":...,
 * "instance":...,"pid":...}`, GET /slow?ms=N the same N ms later; /health answers 200 "ok". Marker files in its directory change it:
 * UNHEALTHY: /health answers 503; EXIT_AT_ONCE: exits 1 at start (after a line on stderr)
 * (these two hold for every instance, or only for the instance ids the file lists);
 * SLOW_START_MS (a number): listens that much later; SMOKE_FAIL: GET / answers 500;
 * FAIL_PERCENT (a number): that share of GET / answers 500, spread evenly; DELAY_MS: GET / answers that much later.
 * On SIGTERM it stops accepting, finishes what is in flight and exits.
 */
export const RUNTIME_APP_SERVER = `const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const has = (f) => fs.existsSync(path.join(__dirname, f));
const read = (f) => fs.readFileSync(path.join(__dirname, f), 'utf8').trim();
const version = read('VERSION');
const only = (f) => { const ids = read(f).split(/\\s+/).filter((x) => x && x !== '1'); return ids.length === 0 || ids.includes(process.env.DEPLOY_INSTANCE); };
if (has('EXIT_AT_ONCE') && only('EXIT_AT_ONCE')) {
  console.error('EXIT_AT_ONCE marker: version ' + version + ' refuses to start');
  process.exit(1);
}
const port = Number(process.env.PORT);
const unhealthy = has('UNHEALTHY') && only('UNHEALTHY');
const smokeFail = has('SMOKE_FAIL');
const slowStart = has('SLOW_START_MS') ? Number(read('SLOW_START_MS')) : 0;
const failPercent = has('FAIL_PERCENT') ? Number(read('FAIL_PERCENT')) : 0;
const delayMs = has('DELAY_MS') ? Number(read('DELAY_MS')) : 0;
let served = 0;
const body = JSON.stringify({ ok: true, version, release: process.env.DEPLOY_RELEASE_ID || null, instance: process.env.DEPLOY_INSTANCE || null, pid: process.pid }) + '\\n';
const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.statusCode = unhealthy ? 503 : 200;
    return res.end(unhealthy ? 'sick\\n' : 'ok\\n');
  }
  const slow = req.url.startsWith('/slow?ms=') ? Number(req.url.slice(9)) : null;
  if (slow !== null) return setTimeout(() => { res.setHeader('content-type', 'application/json'); res.end(body); }, slow);
  if (smokeFail) {
    res.statusCode = 500;
    return res.end('broken\\n');
  }
  served++;
  const fail = Math.floor((served * failPercent) / 100) !== Math.floor(((served - 1) * failPercent) / 100);
  const answer = () => {
    if (fail) {
      res.statusCode = 500;
      return res.end('injected failure\\n');
    }
    res.setHeader('content-type', 'application/json');
    res.end(body);
  };
  if (delayMs > 0) setTimeout(answer, delayMs);
  else answer();
});
server.keepAliveTimeout = 30000;
setTimeout(() => server.listen(port, '127.0.0.1', () => console.log('version ' + version + ' listening on ' + port + ' as pid ' + process.pid)), slowStart);
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
`;
