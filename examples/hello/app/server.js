// A small HTTP app: /health for Deployer's checks, and its version and release in every answer.
const http = require('node:http');
const path = require('node:path');

const version = process.env.DEPLOY_VERSION || require('./package.json').version;
const release = path.basename(__dirname);
const port = Number(process.env.PORT || 8080);
const started = new Date().toISOString();

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  res.writeHead(200, { 'content-type': 'application/json', 'x-app-version': version });
  res.end(`${JSON.stringify({ app: 'hello', version, release, pid: process.pid, started })}\n`);
});

server.listen(port, '127.0.0.1', () => console.log(`hello ${version} (${release}) listening on http://127.0.0.1:${port}/`));
// finish in-flight requests, then exit, when the restart script asks
process.on('SIGTERM', () => server.close(() => process.exit(0)));
