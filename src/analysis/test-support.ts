// Shared by the analysis tests: metrics and configs as the manifest schema makes them, pools
// counted as the router counts them, and a real loopback HTTP server.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { analysisSchema, type AnalysisConfig, type MetricConfig } from '../manifest/schema/analysis.js';
import type { PoolTraffic } from '../routers/types.js';
import { CLASS_ERROR, statusClass, Traffic } from '../runtime/router/metrics.js';

/** An analysis config with the schema's defaults (what a manifest's `analysis:` parses to). */
export function analysisConfig(input: Record<string, unknown>): AnalysisConfig {
  return analysisSchema.parse(input);
}

/** One metric with the schema's defaults. */
export function metricConfig(input: Record<string, unknown>): MetricConfig {
  return analysisConfig({ metrics: [input] }).metrics[0]!;
}

export interface TestServer {
  url: string;
  /** the requests seen: method, url and headers */
  requests: { method: string; url: string; headers: IncomingMessage['headers'] }[];
  close(): Promise<void>;
}

/** A node:http server on 127.0.0.1, port 0. */
export async function httpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const server: Server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

/** A pool as the router counts it: the real Traffic counters plus a ring of the newest `capacity` latencies. */
export class Pool {
  readonly traffic = new Traffic();
  seq = 0;
  ring: number[] = [];
  constructor(private readonly capacity = 4096) {}
  record(status: number | 'error', ms: number): void {
    this.traffic.record(status === 'error' ? CLASS_ERROR : statusClass(status), ms);
    this.seq++;
    this.ring.push(ms);
    if (this.ring.length > this.capacity) this.ring.shift();
  }
  snapshot(): PoolTraffic {
    return { ...this.traffic.toJSON(), samples: { seq: this.seq, latencyMs: [...this.ring] } };
  }
}

