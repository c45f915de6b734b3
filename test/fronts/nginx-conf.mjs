// The nginx.conf the nginx router's tests and the routers benchmark run nginx with, as a user
// would set it up (plain JavaScript: shared by the TypeScript tests and the node-only benchmarks).
// Everything nginx writes stays under `dir`; it listens on loopback only; the server block proxies
// to $deployer_<upstream> (Deployer's routes and weights) and logs Deployer's JSON format.
import { join } from 'node:path';

export function nginxConf({ dir, port, upstream, includes, workerConnections = 1024, errorLevel = 'notice' }) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `    ${t}_temp_path ${join(dir, 'tmp', t)};`);
  return `daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} ${errorLevel};
events { worker_connections ${workerConnections}; }
http {
${temp.join('\n')}
    access_log off;
${includes.map((f) => `    include ${f};`).join('\n')}
    server {
        listen 127.0.0.1:${port};
        location / {
            proxy_pass http://$deployer_${upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            access_log ${join(dir, 'access.log')} deployer_${upstream};
        }
    }
}
`;
}
