// Types of nginx-conf.mjs (plain JavaScript, shared by the TypeScript tests and the node-only benchmarks).

export interface NginxConfOptions {
  /** nginx's prefix: pid file, logs and temp paths go under it */
  dir: string;
  /** the loopback port of the server block */
  port: number;
  /** router.nginx.upstream: the server proxies to $deployer_<upstream> */
  upstream: string;
  /** files included inside http {} (Deployer's config_file) */
  includes: readonly string[];
  workerConnections?: number;
  errorLevel?: string;
}

export function nginxConf(o: NginxConfOptions): string;
