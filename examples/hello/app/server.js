// A small HTTP app: /health for Deployer's checks, and its version, release and instance in
// every answer. Deployer's process manager sets PORT (and DEPLOY_* such as the pool it runs in).
const http = require('node:http');
const path = require('node:path');

const version = process.env.DEPLOY_VERSION || require('./package.json').version;
const release = process.env.DEPLOY_RELEASE_ID || path.basename(__dirname);
const port = Number(process.env.PORT || 3100);
const started = new Date().toISOString();
const body = (extra) => `${JSON.stringify({ app: 'hello', greeting: process.env.GREETING || 'hello', version, release, instance: process.env.DEPLOY_INSTANCE || null, pid: process.pid, started, ...extra })}\n`;

const server = http.createServer((req, res) => {
  if (req.url === '/health') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    return res.end('ok\n');
  }
  res.writeHead(200, { 'content-type': 'application/json', 'x-app-version': version, 'x-release': release });
  res.end(body());
});
server.keepAliveTimeout = 65_000;

server.listen(port, '127.0.0.1', () => console.log(`hello ${version} (${release}) listening on http://127.0.0.1:${port}/`));
// Deployer drains an instance out of the router before it stops it: finish what is in flight, then exit
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
